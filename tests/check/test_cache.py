"""The proof cache: hits when nothing changed, never when anything did."""

import json
import os
import stat
import threading
import warnings

import pytest

from tests.conftest import spec_path
from vverify.check import cache
from vverify.check.run import DEFAULT_TIMEOUT_MS, check_spec
from vverify.files import cache_dir
from vverify.spec.loader import load_spec


def copy_spec(tmp_path, name="pg74.toml"):
    p = tmp_path / name
    p.write_text(spec_path(name.removesuffix(".toml")).read_text())
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



# ------------------------------------------------------------ what an entry must be to be trusted

LPSW_CHECK = 'semantics = """\nsupervisor_only()\nbase = zext(a, 16)'
LPSW_NO_CHECK = 'semantics = """\nbase = zext(a, 16)'


def entry_file(path):
    """Where the cache keeps the entry of the spec at ``path`` (as run.check_spec computes it)."""
    return cache_dir() / f"{cache.key(load_spec(path).verdict_digest, DEFAULT_TIMEOUT_MS)}.json"


def cache_warnings(fn):
    """``fn()``'s result and the messages of the warnings it gave about the cache."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = fn()
    return r, [str(x.message) for x in w if "cache" in str(x.message)]


def failing_spec(tmp_path):
    """pg74 with lpsw's privilege check removed: four claims fail."""
    d = tmp_path / "broken"
    d.mkdir()
    p = d / "pg74.toml"
    p.write_text(spec_path("pg74").read_text().replace(LPSW_CHECK, LPSW_NO_CHECK, 1))
    return p


def test_a_valid_entry_with_flipped_answers_does_not_make_a_failing_spec_pass(tmp_path):
    """The attack of issue 13: valid JSON under the failing spec's key, whose answers (those of the
    good spec: lpsw's three questions flipped) make every claim hold."""
    good, bad = copy_spec(tmp_path), failing_spec(tmp_path)
    assert check_spec(good).ok
    assert len(check_spec(bad).failed_claims) == 4
    forged = json.loads(entry_file(good).read_text())
    forged["key"] = entry_file(bad).stem
    entry_file(bad).write_text(json.dumps(forged))
    r, said = cache_warnings(lambda: check_spec(bad))
    assert not r.cached and not r.ok and len(r.failed_claims) == 4
    assert len(said) == 1 and "not signed with this cache key" in said[0]


def test_an_entry_signed_with_another_key_is_not_trusted(tmp_path, monkeypatch):
    p = copy_spec(tmp_path)
    monkeypatch.setenv("VVERIFY_CACHE_KEY", "the secret of run A")
    check_spec(p)
    assert check_spec(p).cached
    monkeypatch.setenv("VVERIFY_CACHE_KEY", "the secret of run B")
    r, said = cache_warnings(lambda: check_spec(p))
    assert not r.cached and r.ok
    assert len(said) == 1 and "not signed with this cache key" in said[0]
    assert check_spec(p).cached  # solved afresh, and now signed with B's key


def test_a_signed_entry_whose_witness_does_not_replay_is_not_trusted(tmp_path):
    """Even our own MAC does not make a witness true: each is replayed on the interpreter on load."""
    p = failing_spec(tmp_path)
    fresh = check_spec(p)
    k = entry_file(p).stem
    payload = json.loads(entry_file(p).read_text())["payload"]
    lpsw = next(u for u in payload["units"] if u["id"] == "lpsw")
    a = next(a for a in lpsw["answers"] if a["question"] == "runs_in_user" and a["status"] == "yes")
    a["witness"]["outcomes"] = ["trap:privilege"]  # the solver 'said' lpsw traps: the interpreter disagrees
    cache.store(k, payload)  # signed with this test's key
    r, said = cache_warnings(lambda: check_spec(p))
    assert not r.cached
    assert len(said) == 1 and "the witness for lpsw runs_in_user" in said[0] and "does not replay" in said[0]
    assert [u.props for u in r.units] == [u.props for u in fresh.units]


def test_the_key_file_is_private_and_outside_the_cache(tmp_path, monkeypatch):
    p = copy_spec(tmp_path)
    check_spec(p)
    key = tmp_path / "config" / "vverify" / "cache.key"  # conftest: XDG_CONFIG_HOME=tmp_path/config
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not any(cache_dir().rglob("*.key"))
    assert check_spec(p).cached
    os.chmod(key, 0o644)  # a key others can read is a key others can sign with
    r, said = cache_warnings(lambda: check_spec(p))
    assert not r.cached and len(said) >= 1 and "may be read by others" in said[0]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cache_dir()))  # a key inside the cache is no key
    r, said = cache_warnings(lambda: check_spec(p))
    assert not r.cached and "inside the cache directory" in said[0]
    assert not (cache_dir() / "vverify").exists()


# ------------------------------------------------------------------------ malformed entries

def signed_payloads(good_payload):
    """Well-formed, correctly signed entries whose payload is not what run.store writes."""
    no_witness = json.loads(json.dumps(good_payload))
    a = next(a for u in no_witness["units"] for a in u["answers"] if a["status"] == "yes")
    a["witness"] = None  # a 'yes' with nothing to replay
    answers_not_a_list = json.loads(json.dumps(good_payload))
    answers_not_a_list["units"][0]["answers"] = None
    return {"empty object": {}, "a list": [], "units not a list": {"units": 5},
            "a unit without fields": {"units": [{"id": "ld"}]}, "answers not a list": answers_not_a_list,
            "a yes without its witness": no_witness}


@pytest.mark.parametrize("kind", list(signed_payloads({"units": [{"answers": [{"status": "yes"}]}]})))
def test_a_malformed_payload_is_ignored_with_one_warning(tmp_path, kind):
    p = copy_spec(tmp_path)
    check_spec(p)
    k = entry_file(p).stem
    cache.store(k, signed_payloads(json.loads(entry_file(p).read_text())["payload"])[kind])
    r, said = cache_warnings(lambda: check_spec(p))
    assert not r.cached and r.ok
    assert len(said) == 1 and "corrupt cache entry" in said[0] and "\n" not in said[0]


def test_a_non_utf8_entry_is_ignored_with_one_warning(tmp_path):
    p = copy_spec(tmp_path)
    check_spec(p)
    entry_file(p).write_bytes(b'{"format": 2, "key": "\xff\xfe"}')
    r, said = cache_warnings(lambda: check_spec(p))
    assert not r.cached and r.ok
    assert len(said) == 1 and "corrupt cache entry" in said[0]


def test_a_fifo_entry_is_not_read(tmp_path):
    """A FIFO where an entry should be: refused without waiting on it.  (A writer thread stands by so
    that a reader that did open it, as before, gets an answer instead of hanging the test.)"""
    p = copy_spec(tmp_path)
    check_spec(p)
    entry = entry_file(p)
    entry.unlink()
    os.mkfifo(entry)

    def writer():
        try:
            with open(entry, "w") as f:  # waits for a reader
                f.write("{}")
        except OSError:  # the reader left without reading: what should happen
            pass

    t = threading.Thread(target=writer)
    t.start()
    try:
        r, said = cache_warnings(lambda: check_spec(p))
    finally:
        os.close(os.open(entry, os.O_RDONLY | os.O_NONBLOCK))  # releases the writer if nobody opened the FIFO
        t.join()
    assert not r.cached and r.ok
    assert len(said) == 1 and "not a regular file" in said[0]


def test_a_symlink_in_the_cache_is_neither_read_nor_written_through(tmp_path):
    """A restored cache archive may hold links; following one would read or overwrite any file."""
    p = copy_spec(tmp_path)
    check_spec(p)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    entry = entry_file(p)
    entry.unlink()
    entry.symlink_to(victim)
    r, said = cache_warnings(lambda: check_spec(p))
    assert not r.cached and r.ok
    assert len(said) == 1 and "symbolic link" in said[0]
    assert victim.read_text() == "precious\n"
    assert not entry.is_symlink() and check_spec(p).cached  # replaced by a proper entry
