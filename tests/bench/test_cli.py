"""`vverify bench` and `vverify report` on the command line: bad arguments exit 2 with one line."""

import json

import pytest

from vverify.cli.main import main


def _fails(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse
        code = e.code
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("argv, says", [
    (["bench", "--workload", "nope"], "invalid choice"),
    (["bench", "--technique", "teleportation"], "no technique 'teleportation'"),
    (["bench", "--spec", "no_such_isa"], "no spec 'no_such_isa'"),
    (["bench", "--spec", "missing/dir/x.toml"], "no such spec file"),
    (["bench", "-o", "/no/such/dir/bench.json"], "no such directory"),
    (["bench", "--fast", "--bogus"], "unrecognized arguments"),
    (["report", "/no/such/file.json"], "no such file"),
])
def test_bad_arguments_exit_2_with_one_line(argv, says, capsys):
    code, err = _fails(argv, capsys)
    assert code == 2
    assert says in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_report_of_a_file_that_is_not_pyperf(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"hello": 1}))
    code, err = _fails(["report", str(bad)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_bench_end_to_end(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--fast", "--spec", "pg74", "-t", "native", "-t", "trap-and-emulate", "-w", "syscall",
                 "-w", "in", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured
    assert "measured 2 cells (2 not applicable, 0 failed)" in captured.out
    assert "8/8" in captured.err  # the progress bar: 4 cells x 2 processes
    data = json.loads(out.read_text())
    names = {b["metadata"]["name"] for b in data["benchmarks"]}
    assert names == {"pg74/native/syscall", "pg74/trap-and-emulate/syscall"}
    assert "vverify bench --fast --spec pg74" in data["metadata"]["vverify_command"]
    cells = json.loads(data["metadata"]["vverify_cells"])
    assert {c["workload"] for c in cells if c["status"] == "n/a"} == {"in"}
    assert (tmp_path / "REPORT.md").is_file() and (tmp_path / "bench_cycles.png").is_file()
