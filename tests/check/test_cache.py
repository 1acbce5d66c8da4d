"""The proof cache: hits when nothing changed, never when anything did."""

import warnings

from tests.conftest import SPEC_DIR
from vverify.check.run import check_spec
from vverify.files import cache_dir


def copy_spec(tmp_path, name="pg74.toml"):
    p = tmp_path / name
    p.write_text((SPEC_DIR / name).read_text())
    return p


def test_unchanged_spec_hits_the_cache(tmp_path):
    p = copy_spec(tmp_path)
    first = check_spec(p)
    second = check_spec(p)
    assert not first.cached and second.cached
    assert [u.props for u in first.units] == [u.props for u in second.units]


def test_a_changed_spec_is_recomputed(tmp_path):
    p = copy_spec(tmp_path)
    check_spec(p)
    p.write_text(p.read_text().replace("supervisor_only()\nr[rd] = l", "r[rd] = l"))
    r = check_spec(p)
    assert not r.cached
    assert r.unit("getr").props["privileged"] == "no"


def test_a_changed_parent_spec_is_recomputed(tmp_path):
    parent = copy_spec(tmp_path)
    child = tmp_path / "child.toml"
    child.write_text('[isa]\nname = "child"\nextends = "pg74.toml"\n')
    assert not check_spec(child).cached
    assert check_spec(child).cached
    parent.write_text(parent.read_text().replace("supervisor_only()\nl = r[rs]", "l = r[rs]"))
    r = check_spec(child)
    assert not r.cached
    assert r.unit("setr").props["privileged"] == "no"


def test_a_corrupt_entry_is_ignored_with_a_warning(tmp_path):
    p = copy_spec(tmp_path)
    check_spec(p)
    entries = list(cache_dir().glob("*.json"))
    assert len(entries) == 1
    entries[0].write_text('{"format": 1, "key": "x", "payl')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = check_spec(p)
    assert not r.cached
    assert any("corrupt cache entry" in str(x.message) for x in w)


def test_no_cache_neither_reads_nor_writes(tmp_path):
    p = copy_spec(tmp_path)
    check_spec(p, use_cache=False)
    assert not cache_dir().exists() or not list(cache_dir().glob("*.json"))

