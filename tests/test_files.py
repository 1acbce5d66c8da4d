"""vverify.files: reading only regular files, writing reports and cache entries safely."""

import os

from vverify.files import write_atomic


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    write_atomic(target, "complete")
    assert target.read_text() == "complete"
    assert [f.name for f in tmp_path.iterdir()] == ["out.json"]
    assert not any(n.endswith(".tmp") for n in os.listdir(tmp_path))


def test_files_is_a_leaf_module():
    """Every layer imports vverify.files, so it may import nothing of vverify's but its errors."""
    import ast
    import vverify.files

    tree = ast.parse(open(vverify.files.__file__).read())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in imported if m and m.startswith("vverify")} <= {"vverify.errors"}
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))
