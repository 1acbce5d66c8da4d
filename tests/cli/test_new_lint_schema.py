"""`vverify new`, `vverify lint` and `vverify schema`: starting a spec, validating it, editor support."""

import json
from importlib import resources

from tests.conftest import spec_path
from vverify.cli.main import main
from vverify.cli.skeleton import skeleton
from vverify.spec.loader import load_spec


def test_new_writes_a_skeleton_that_checks_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "demo"]) == 0
    assert "wrote demo.toml" in capsys.readouterr().out
    spec = load_spec(tmp_path / "demo.toml")
    assert spec.name == "demo" and len(spec.modes) == 2
    assert spec.virtualization is not None and spec.entry  # a map and a trap entry
    assert spec.theorem_claims and spec.instruction_claims
    assert main(["lint", "demo.toml"]) == 0
    assert main(["check", "demo.toml"]) == 0  # every claim of the skeleton holds
    out = capsys.readouterr().out
    assert "Claims: 7/7 confirmed" in out and "Theorem 1 (sensitive ⊆ privileged" in out


def test_new_refuses_to_overwrite(tmp_path, capsys):
    assert main(["new", "demo", "-o", str(tmp_path / "machines")]) == 0  # creates the directory
    p = tmp_path / "machines" / "demo.toml"
    p.write_text("# my work\n")
    capsys.readouterr()
    assert main(["new", "demo", "-o", str(tmp_path / "machines")]) == 2
    err = capsys.readouterr().err
    assert err == f"vverify: {p} already exists; not overwriting it\n"
    assert p.read_text() == "# my work\n"


def test_new_rejects_a_name_that_is_not_a_spec_name(tmp_path, capsys):
    for bad in ("../escape", "9lives", "a b", ""):
        assert main(["new", bad, "-o", str(tmp_path)]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_skeleton_names_the_isa():
    assert 'name = "riscvlet"' in skeleton("riscvlet")


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
