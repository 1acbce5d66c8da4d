"""A bundled spec is named as well as pathed: `vverify check riscv32` works from any directory (issue 14)."""

import json

import pytest

from vverify.cli.main import main
from vverify.spec.bundled import bundled_names, find_bundled


def test_every_bundled_spec_is_found_by_its_name():
    names = bundled_names()
    assert {"armv7a", "armv7a_undef", "mips32", "mips32_kuseg", "pdp10", "pg74", "pg74_rdbase", "pg74_vt", "riscv32", "x86_32", "x86_32_cpl1",
            "x86_32_vtx"} <= set(names)
    for name in names:
        path = find_bundled(name)
        assert path.stem == name and path.parent.parent.name in ("specs", "bundled_specs")


def test_check_and_lint_take_a_bundled_name_from_an_unrelated_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "riscv32", "x86_32_vtx"]) == 0
    out = capsys.readouterr().out
    assert "ok (riscv32: " in out and "ok (x86_32_vtx: " in out
    assert main(["check", "pg74", "--format", "json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)["reports"]
    assert report["spec"] == "pg74" and report["path"].endswith("pg74/pg74.toml")


def test_a_file_in_the_working_directory_wins_over_a_bundled_name(tmp_path, monkeypatch, capsys):
    """A path the user can see is what they mean: `pg74` here is their file, not the bundled spec."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pg74").write_text("not a spec\n")
    assert main(["lint", "pg74"]) == 2
    assert "pg74" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["check", "nosuch"], ["lint", "nosuch"]])
def test_an_unknown_name_lists_the_bundled_ones_in_one_line(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    cap = capsys.readouterr()
    (line,) = (cap.err + cap.out).strip().splitlines()
    assert "no spec 'nosuch'" in line and "bundled: armv7a, armv7a_undef, mips32, mips32_kuseg, pdp10, pg74" in line
