"""`vverify new`, `vverify lint` and `vverify schema`: starting an ISA, validating it, editor support.

`vverify new` writes a folder complete for every feature, so the tests run
each one on it: it checks clean, its guest library boots programs on the
interpreter and the core, its workload runs, and it fuzzes without
divergence.  A broken stub fails here, not in a user's first session.
"""

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from tests.conftest import spec_path
from vverify import guests as G
from vverify.cli.main import main
from vverify.cli.skeleton import isa_folder, skeleton
from vverify.core import Core
from vverify.spec.loader import load_spec


FOLDER = ("demo.toml", "boot.s", "bench/syscall.s")  # the ISA folder, laid out like specs/<isa>/


def test_new_writes_an_isa_folder_that_checks_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "demo"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [f"wrote demo/{f}" for f in FOLDER] and out[3].startswith("next: ")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == \
        sorted(f"demo/{f}" for f in FOLDER)
    spec = load_spec(tmp_path / "demo" / "demo.toml")
    assert spec.name == "demo" and len(spec.modes) == 2
    assert spec.virtualization is not None and spec.entry  # a map and a trap entry
    assert spec.theorem_claims and spec.instruction_claims
    assert spec.guest.boot == str(tmp_path / "demo" / "boot.s")  # the stub beside the spec
    assert main(["lint", "demo/demo.toml"]) == 0
    assert main(["check", "demo/demo.toml"]) == 0  # every claim of the skeleton holds
    out = capsys.readouterr().out
    assert "Claims: 11/11 confirmed" in out and "Theorem 1 (sensitive ⊆ privileged" in out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The skeleton's folder, written by `vverify new`, loaded (shared: the tests only read it)."""
    d = tmp_path_factory.mktemp("new")
    assert main(["new", "demo", "-o", str(d)]) == 0
    return load_spec(d / "demo" / "demo.toml")


# putc 42, putc 7 twice around a yield, a call that kernel_extra answers with acc + 1 (putc'd),
# then exit(3): every path of the stub's system calls, and acc surviving each one that returns.
PROGRAM = """
user_main:
        li    42
        svc   1
        li    7
        svc   1
        svc   2
        svc   1
        li    99
        svc   3
        svc   1
        li    3
last:   svc   0
"""
PLUS_ONE = """
sys_extra:
        ld    k_save            # the caller's acc, which k_return gives back
        addi  1
        st    k_save
        li    0                 # scratch: k_return must not return this
        jmp   k_return
"""


def _outcomes(spec, target):
    return G.read_output(spec, target), G.exit_status(spec, target)


def test_the_skeletons_stub_boots_a_program_on_the_interpreter_and_the_core(demo):
    prog = G.build(demo, PROGRAM, PLUS_ONE)
    state, ex = G.run(demo, G.boot_state(demo, prog), 10_000)
    assert G.halt_convention(demo).ended(ex)
    out, status = _outcomes(demo, state)
    assert out == [42, 7, 7, 100]
    assert (status.status, status.code, status.pc) == ("exit", 3, prog.user.symbols["last"])
    assert state.regs["mode"] == demo.modes["sup"]  # the kernel halted, not the user program

    core = Core(demo)
    core.load_state(G.boot_state(demo, prog))
    _, cex = G.run(demo, core, 10_000)
    assert (cex.reason, cex.steps) == (ex.reason, ex.steps)
    assert _outcomes(demo, core) == (out, status)


def test_the_skeletons_stub_reflects_a_privileged_instruction(demo):
    prog = G.build(demo, "user_main:\n        li 5\n        svc 1\nbad:    setbase\n        svc 0\n")
    state, ex = G.run(demo, G.boot_state(demo, prog), 10_000)
    assert G.halt_convention(demo).ended(ex)
    out, status = _outcomes(demo, state)
    assert out == [5]
    assert (status.status, status.causes, status.pc) == ("trap", ("privileged",), prog.user.symbols["bad"])


def test_the_skeletons_syscall_workload_runs_and_the_others_say_why_not(demo):
    from vverify.bench import workloads as W

    state, ex = G.run(demo, G.boot_state(demo, W.build(demo, "syscall", 5)), 10_000)
    assert G.halt_convention(demo).ended(ex) and G.exit_status(demo, state).status == "exit"
    for name in W.WORKLOADS:
        src = W.source(demo, name)
        assert src.applicable == (name == "syscall") and (src.applicable or src.na)


def test_the_skeleton_fuzzes_without_divergence(demo, capsys):
    path = Path(demo.guest.path)
    assert main(["fuzz", str(path), "-t", "trap-and-emulate", "-n", "25"]) == 0
    assert "demo under trap-and-emulate: 25 programs" in capsys.readouterr().out


def test_new_refuses_to_overwrite(tmp_path, capsys):
    machines = tmp_path / "machines"
    assert main(["new", "demo", "-o", str(machines)]) == 0  # creates the directory
    p = machines / "demo" / "demo.toml"
    p.write_text("# my work\n")
    capsys.readouterr()
    assert main(["new", "demo", "-o", str(machines)]) == 2
    err = capsys.readouterr().err
    assert err == f"vverify: {p} already exists; not overwriting it\n"
    assert p.read_text() == "# my work\n"


def test_new_writes_nothing_when_any_file_of_the_folder_exists(tmp_path, capsys):
    """A stub kept from an earlier attempt stops it too, before the spec is written."""
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "boot.s").write_text("# my stub\n")
    assert main(["new", "demo", "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"vverify: {tmp_path / 'demo' / 'boot.s'} already exists; not overwriting it\n"
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["boot.s"]


def test_new_rejects_a_name_that_is_not_a_spec_name(tmp_path, capsys):
    for bad in ("../escape", "9lives", "a b", ""):
        assert main(["new", bad, "-o", str(tmp_path)]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_skeleton_names_the_isa():
    assert 'name = "riscvlet"' in skeleton("riscvlet")
    assert "riscvlet" in isa_folder("riscvlet")["boot.s"] and "riscvlet.toml" in isa_folder("riscvlet")


def test_lint_reports_schema_and_semantic_errors_with_locations(tmp_path, capsys):
    good = spec_path("pg74")
    text = good.read_text()
    schema_err = tmp_path / "schema_err.toml"  # an unknown key: the JSON Schema rejects it
    schema_err.write_text(text.replace('[state]\npc = 16\n', '[state]\npc = 16\nspeed = "fast"\n', 1))
    semantic_err = tmp_path / "semantic_err.toml"  # widths that do not match: only the semantics checker sees it
    semantic_err.write_text(text.replace('semantics = "r[rd] = sext(imm, 16)"', 'semantics = "r[rd] = imm"', 1))
    assert text != schema_err.read_text() and text != semantic_err.read_text()
    assert main(["lint", str(good), str(schema_err), str(semantic_err)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{good}: ok (pg74: {len(load_spec(good).instructions)} instructions)"
    speed_line = 1 + text.splitlines().index("pc = 16") + 1
    assert out[1].startswith(f"{schema_err}:{speed_line}: ") and "speed" in out[1]
    li_line = 1 + text.splitlines().index('semantics = "r[rd] = sext(imm, 16)"')
    assert out[2].startswith(f"{semantic_err}:{li_line}: instruction 'li': ") and "width" in out[2]
    assert len(out) == 3


def test_schema_prints_the_published_schema(tmp_path, capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    shipped = json.loads(resources.files("vverify.spec").joinpath("spec.schema.json").read_text())
    assert printed == shipped and printed["title"] == "vverify ISA spec"
    assert main(["schema", "-o", str(tmp_path / "spec.schema.json")]) == 0
    assert json.loads((tmp_path / "spec.schema.json").read_text()) == shipped


def test_a_schema_directive_for_editors_is_just_a_comment(tmp_path, capsys):
    p = tmp_path / "pg74.toml"
    p.write_text("#:schema ./spec.schema.json\n" + (spec_path("pg74")).read_text())
    assert main(["lint", str(p)]) == 0


def test_lint_ok_line_is_one_line_whatever_the_path_holds(tmp_path, capsys):
    """A spec file named with a newline and a terminal escape: lint's ok line escapes them as an
    error line does, so a CI log reading line by line sees one line (issue 13, item 17)."""
    d = tmp_path / "odd\nname\x1b[2J"
    d.mkdir()
    shutil.copytree(spec_path("pg74").parent, d / "pg74")
    path = d / "pg74" / "pg74.toml"
    assert main(["lint", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\x1b" not in out
    assert out.startswith(str(path).replace("\n", "\\n").replace("\x1b", "\\x1b") + ": ok (pg74: ")


def test_lint_accepts_what_issue_18_found_the_language_could_not_say(tmp_path, capsys):
    """A loop index compared with a constant, a bit indexed by an operand (ARM's `rlist[rn]`), an
    encoding that excludes a field value and a banked register: each once refused or missing."""
    lang = spec_path("lang")
    assert main(["lint", str(lang)]) == 0
    assert capsys.readouterr().out.strip() == f"{lang}: ok (lang: {len(load_spec(lang).instructions)} instructions)"
    text = lang.read_text()
    for old, new, message in (
            ("        if i == 3:", "        if r[i][i] == 3:", "constant 3 does not fit in 1 bits"),  # a bit is 1 bit
            ('exclude = { cond = 0b1111 }', 'exclude = { cond = 0b11111 }',
             "excluded value 31 does not fit the 4-bit field 'cond'"),
            ('by = "psr[3]"', 'by = "acc[3]"', "the bits of 'acc' that select its copy must be control state")):
        assert old in text
        p = tmp_path / "lang.toml"
        p.write_text(text.replace(old, new, 1))
        assert main(["lint", str(p)]) == 2
        out = capsys.readouterr().out.strip()
        assert out.startswith(f"{p}:") and message in out and len(out.splitlines()) == 1, out
