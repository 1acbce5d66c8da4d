"""`vverify report` on files that are not benchmark files: one line naming the file, exit 2, never a hang."""

import json
import os
from pathlib import Path

import pytest

from vverify.cli.main import main

SMALL = Path(__file__).parent.parent / "bench" / "data" / "small.json"


def _write(tmp_path, name, content):
    p = tmp_path / name
    (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)
    return p


def _malformed_metadata(tmp_path, name):
    data = json.loads(SMALL.read_text())
    data["metadata"]["vverify_cells"] = "[{"  # what vverify bench writes is JSON inside the metadata
    return _write(tmp_path, name, json.dumps(data))


CASES = {
    "list.json": ("[1, 2]", "the JSON holds a list"),
    "number.json": ("3", "the JSON holds a number"),
    "dict.json": ('{"a": 1}', "no 'benchmarks' list"),
    "benchmarks-not-a-list.json": ('{"benchmarks": 5}', "no 'benchmarks' list"),
    "malformed-benchmarks.json": ('{"version": "1.0", "benchmarks": [{"runs": "x"}]}', "not a pyperf benchmark file"),
    "latin1.json": (b'{"benchmarks": ["\xff"]}', "not UTF-8"),
    "truncated.json": ('{"benchmarks": [', "not JSON"),
    "metadata.json": (_malformed_metadata, "malformed vverify benchmark data"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_file_that_is_not_a_benchmark_file(tmp_path, capsys, name):
    content, words = CASES[name]
    p = content(tmp_path, name) if callable(content) else _write(tmp_path, name, content)
    assert main(["report", str(p), "-d", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"vverify: {p}:") and words in err[0], err
    assert not (tmp_path / "out" / "REPORT.md").exists()


def test_a_directory_or_a_fifo(tmp_path, capsys):
    d = tmp_path / "dir.json"
    d.mkdir()
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # opening it to read would block until a writer came: it must not be opened
    for p, words in ((d, "is a directory"), (fifo, "not a regular file")):
        assert main(["report", str(p), "-d", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"vverify: {p}: {words}" + (", not a benchmark file" if p == d else "")]


def test_the_library_reader_says_the_same(tmp_path):
    """vverify.bench.results.load, which the report calls, raises ValueError naming the file."""
    from vverify.bench.results import load

    p = _write(tmp_path, "list.json", "[]")
    with pytest.raises(ValueError, match=f"^{p}: not a pyperf benchmark file"):
        load([p])
    assert load([SMALL]).measurements  # and a real file still loads
