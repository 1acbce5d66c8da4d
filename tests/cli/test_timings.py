"""The solver's seconds per unit and per question (issue 18, deliver 4): in --json always, in the text
report with -v; a unit whose verdicts came from the proof cache is reported as cached, with no time,
since it was not solved in this run (its stored time is another run's)."""

import json
import re

import pytest

from tests.conftest import spec_path
from vverify.cli.main import main
from vverify.spec.loader import load_spec
from vverify.spec.units import units_of


@pytest.fixture
def pg74(tmp_path):
    p = tmp_path / "pg74.toml"
    p.write_text(spec_path("pg74").read_text())
    return p


def test_json_carries_each_questions_solver_time_and_none_for_cached_units(pg74, capsys):
    assert main(["check", "--json", str(pg74)]) == 0
    rep = json.loads(capsys.readouterr().out)["reports"][0]
    assert rep["instructions"]
    for u in rep["instructions"]:
        assert u["cached"] is False
        secs = [a["seconds"] for a in u["answers"]]
        assert all(type(s) is float and 0 <= s < 300 for s in secs), u["id"]
        assert type(u["solver_seconds"]) is float and u["solver_seconds"] == pytest.approx(sum(secs), abs=1e-5)
        assert [(a["question"], a["modes"]) for a in u["answers"]][:1] == [("runs_in_user", ["u"])]
    assert main(["check", "--json", str(pg74)]) == 0
    rep = json.loads(capsys.readouterr().out)["reports"][0]
    assert rep["cached"] is True
    for u in rep["instructions"]:
        assert u["cached"] is True and u["solver_seconds"] is None
        assert all(a["seconds"] is None for a in u["answers"])  # not solved in this run: no time of it


def test_verbose_prints_each_units_and_each_questions_solver_time(pg74, capsys):
    assert main(["check", "-v", str(pg74)]) == 0
    out = capsys.readouterr().out
    ids = [u.id for u in units_of(load_spec(pg74))]
    head = out.index("  Solver time per unit, slowest first (14 solved in this run):")
    rows = out[head:].splitlines()[1:1 + len(ids)]
    assert sorted(r.split()[0] for r in rows) == sorted(ids)
    totals = []
    for row in rows:
        m = re.fullmatch(r"    (\S+) +(\d+\.\d\d) s   (.*)", row)
        assert m, row
        per = re.findall(r"(\w+)\[([\w,]+)\] (\d+\.\d\d)", m.group(3))
        assert [q for q, *_ in per][:3] == ["runs_in_user", "runs_in_supervisor", "control"]
        assert float(m.group(2)) == pytest.approx(sum(float(s) for *_, s in per), abs=0.01 * len(per))
        totals.append(float(m.group(2)))
    assert totals == sorted(totals, reverse=True)
    assert main(["check", "-v", str(pg74)]) == 0
    out = capsys.readouterr().out
    assert "(0 solved in this run)" in out
    assert f"from the proof cache, not solved in this run (14): {', '.join(ids)}" in out
    assert main(["check", str(pg74)]) == 0
    assert "Solver time" not in capsys.readouterr().out  # only with -v
