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


def test_read_regular_refuses_what_is_not_a_regular_file(tmp_path):
    import pytest

    from vverify.files import FileTooLarge, NotARegularFile, read_regular

    f = tmp_path / "f"
    f.write_bytes(b"0123456789")
    assert read_regular(f, 10) == b"0123456789"
    with pytest.raises(FileTooLarge):
        read_regular(f, 9)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile):  # at once: no writer is waited for
        read_regular(fifo, 10)
    with pytest.raises(NotARegularFile):
        read_regular(tmp_path, 10)
    link = tmp_path / "link"
    link.symlink_to(f)
    assert read_regular(link, 10) == b"0123456789"
    with pytest.raises(NotARegularFile, match="symbolic link"):
        read_regular(link, 10, follow_symlinks=False)


def test_write_atomic_without_following_replaces_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "entry.json"
    link.symlink_to(victim)
    write_atomic(link, "entry", follow_symlinks=False)
    assert victim.read_text() == "precious" and not link.is_symlink() and link.read_text() == "entry"
    write_atomic(link, "again")  # a regular file: replaced, as always
    assert link.read_text() == "again"
