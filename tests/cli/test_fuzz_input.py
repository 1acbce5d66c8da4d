"""`vverify fuzz`, `matrix` and `bench` on specs they cannot run, and numbers out of range: one line, exit 2.

A spec without a guest library (no `[guest]` table naming a boot stub) has
no programs to fuzz; a spec with a register wider
than 64 bits cannot run on the core.  Both used to end in a traceback.
"""

import json
import shutil

import pytest

from tests.conftest import spec_path
from vverify.check.run import check_spec
from vverify.cli.main import main
from vverify.errors import UsageError


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vverify: ") and "Traceback" not in err[0], err
    return err[0]


@pytest.fixture
def wide_pg74(tmp_path):
    """pg74 (which has a guest library) with a 128-bit data register the core cannot hold."""
    d = shutil.copytree(spec_path("pg74").parent, tmp_path / "wide")  # the ISA's folder: spec and guest library
    text = (d / "pg74.toml").read_text()
    old = "b = { width = 16, control = true,"
    assert old in text
    (d / "pg74.toml").write_text(text.replace(old, 'wide = { width = 128 }\n' + old, 1))
    return d / "pg74.toml"


def test_fuzz_on_a_spec_without_a_guest_library(tmp_path, capsys):
    from vverify.cli.skeleton import skeleton

    text = skeleton("sk")  # what `vverify new` writes, less its [guest] tables
    (tmp_path / "sk.toml").write_text(text[:text.index("\n[guest]\n")] + text[text.index("\n[claims]\n"):])
    assert main(["fuzz", str(tmp_path / "sk.toml"), "-t", "trap-and-emulate", "-n", "2"]) == 2
    line = one_error_line(capsys)
    assert "spec 'sk' has no guest library" in line and "docs/guests.md" in line


def test_fuzz_on_a_spec_the_core_cannot_run(wide_pg74, capsys):
    assert main(["fuzz", str(wide_pg74), "-t", "trap-and-emulate", "-n", "2"]) == 2
    line = one_error_line(capsys)
    assert "spec 'pg74': register 'wide' is 128 bits" in line and "so the core cannot run it" in line


def test_matrix_marks_a_spec_the_core_cannot_run_not_applicable(wide_pg74, tmp_path, capsys):
    """Like a spec without a guest library: its cells say why they were not run, and nothing fails."""
    out = tmp_path / "m"
    assert main(["matrix", str(wide_pg74), "-n", "2", "-o", str(out)]) == 0
    cells = json.loads((out / "matrix.json").read_text())["cells"]
    assert cells and all(c["predicted"] == "n/a" and c["observed"] == "not run" for c in cells)
    assert sum("spec 'pg74': register 'wide' is 128 bits" in c["why"] for c in cells) >= 4


def test_bench_marks_a_spec_the_core_cannot_run_not_applicable(wide_pg74):
    from vverify.bench.script import _prepare

    spec, target, problem, na = _prepare(str(wide_pg74), True, 0.01)
    assert (target, problem) == (None, "")
    assert na.startswith("spec 'pg74': register 'wide' is 128 bits") and "the core cannot run it" in na


@pytest.mark.parametrize("argv", [
    ["check", "--timeout", "inf"], ["check", "--timeout", "nan"], ["check", "--timeout", "1e309"],
    ["check", "--timeout", "0.0009"], ["check", "--timeout", "4294968"], ["explain", "--timeout", "inf", "x", "y"],
    ["check", "-j", "0"], ["check", "-j", "100000000000000000000"],
    ["fuzz", "-t", "hybrid", "--budget", "18446744073709551616"], ["fuzz", "-t", "hybrid", "-n", "0"],
    ["matrix", "-n", "-3"],
])
def test_numbers_out_of_range_are_usage_errors(argv, capsys):
    """Refused while parsing, before any spec is read (the spec named here does not even exist)."""
    with pytest.raises(SystemExit) as e:
        main(argv + ["no-such-spec.toml"] * (argv[0] != "explain"))
    assert e.value.code == 2
    line = one_error_line(capsys)
    assert "vverify: error: argument" in line


def test_the_api_rejects_a_timeout_z3_would_not_honour():
    spec = spec_path("pg74")
    for bad in (0, -5, 2**32, 0.5, float("inf"), True, "20"):
        with pytest.raises(UsageError, match="timeout_ms"):
            check_spec(spec, timeout_ms=bad, use_cache=False)
