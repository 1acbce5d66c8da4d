"""docs/writing-a-spec.md does what it says: its shell blocks run, in order, in an empty directory.

The walkthrough grows a spec from `vverify new` to verdicts, a banked register and an
encoding that excludes a value included, and on to fuzzing and benchmarks.

Each ```sh block runs as one `bash -e` script with the venv's `vverify` and
`pytest` first on PATH; its exit status must be the `# exit N` on its last
command (0 when there is none).  A ```text block right after a ```sh block
shows that block's output: each of its lines (but `...`) must appear in
the output, with what varies from run to run normalised: solve and run
times, fuzzing rates and bench's elapsed clock (the machine), and how many
programs a fuzz run took and the share of instructions run directly (the
fuzzer's strategies, not the spec).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

DOC = ROOT / "docs" / "writing-a-spec.md"
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
VARIES = [(re.compile(p), r) for p, r in (
    (r"\d+\.\d+ s\b", "T s"),  # a time
    (r"\(\d+/s\)", "(R/s)"),  # fuzzing's rate
    (r"\b\d+m\d\ds\b", "MmSSs"),  # bench's elapsed clock
    (r"\b\d+ programs in\b", "N programs in"),
    (r"\b\d+% of guest instructions", "P% of guest instructions"),
)]


def blocks():
    """[(language, body)] of the fenced blocks of the walkthrough, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(DOC.read_text())]


def normalised(text: str) -> str:
    for pattern, replacement in VARIES:
        text = pattern.sub(replacement, text)
    return text


def expected_exit(script: str) -> int:
    last = [line for line in script.strip().splitlines() if line.strip()][-1]
    m = re.search(r"#\s*exit\s+(\d+)", last)
    return int(m.group(1)) if m else 0


def test_the_walkthrough_runs_as_written(tmp_path):
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTEST_ADDOPTS", None)
    work = tmp_path / "walkthrough"
    work.mkdir()
    bs = blocks()
    scripts = [b for lang, b in bs if lang == "sh"]
    assert len(scripts) >= 8 and all(any(f"vverify {c}" in s for s in scripts) for c in ("explain", "fuzz", "bench"))
    # the language the walkthrough shows includes a banked register and an excluded encoding value
    assert any("[state.banked." in s for s in scripts) and any("exclude = {" in s for s in scripts)
    for i, (lang, body) in enumerate(bs):
        if lang != "sh":
            continue
        p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", body], cwd=work, env=env, capture_output=True,
                           text=True, timeout=120)
        want = expected_exit(body)
        assert p.returncode == want, f"block {body!r} exited {p.returncode}, not {want}:\n{p.stdout}\n{p.stderr}"
        assert "Traceback" not in p.stderr
        if i + 1 < len(bs) and bs[i + 1][0] == "text":
            shown = normalised(p.stdout + p.stderr)
            for line in bs[i + 1][1].splitlines():
                if line.strip() and line.strip() != "...":
                    assert normalised(line) in shown, f"the doc shows {line!r}; {body!r} printed:\n{shown}"
    # `vverify new` wrote an ISA folder: the spec, the guest library's stub beside it, a workload
    isa = work / "demo"
    assert {"demo.toml", "boot.s", "bench/syscall.s"} <= {str(f.relative_to(isa)) for f in isa.rglob("*")}
    assert ".include \"abi.s\"" in (isa / "boot.s").read_text()
    assert (work / "demo.sarif").exists() and (work / "spec.schema.json").exists()
    assert (work / "results" / "bench.json").exists()
    # and the spec it ends with has them, fuzzed and checked with the rest
    from vverify.spec.loader import load_spec

    final = load_spec(isa / "demo.toml")
    assert set(final.banks) == {"sp"} and {"sp_sup", "sp_usr"} <= set(final.registers)
    assert final.instructions["addsp"].encoding.excluded == {"imm": [0]}
