"""Hostile proof-cache entries: `vverify check` ends well on any of them, and never passes a failing spec.

Part of the standing hostile-input campaign (tests/hostile).  A cache is
filled once (module fixture) by checking two specs: pg74 as bundled (every
claim holds) and pg74 with ``supervisor_only()`` removed from ``lpsw``
(the claims ``lpsw``, theorem1, theorem2 and theorem3 fail, as in
tests/check/test_claims.py).  Each input copies that cache and its key,
mutates it, and runs ``vverify check --format json -j 1 good.toml bad.toml``
in-process:

* entries forged as in issue 13: the passing spec's payload (and MAC, or its
  whole entry) under the failing spec's key;
* entries, JSON-level: answers flipped, keys dropped, types swapped, huge
  numbers, NaN, deep nesting, the other entry's payload, key or MAC, a
  duplicated key; the MAC left as it was (what anyone who can write to the
  cache can do), or recomputed with the right key for payload changes that
  introduce no "no" answer (a "no" is an unsat proof a key holder is
  trusted with; anything else must still be checked);
* entries, byte-level: truncated, NULs, invalid UTF-8, a BOM, UTF-16,
  empty, larger than the 256 MiB limit (sparse);
* entries, file-level: a FIFO, a directory, a socket, a symlink to
  /dev/zero, to the other entry, to itself, dangling, a hard link;
* the key file: readable by others, empty, not hex, too short, a directory,
  a FIFO, a link to /dev/zero; another ``$VVERIFY_CACHE_KEY``;
* the cache directory: a regular file instead, or junk beside the entries.

Every run must exit 1 (the bad spec fails, the good one passes: a mutated
cache can make neither pass nor fail differently), with exactly the fresh
run's failed claims, no traceback, stderr only vverify's one-line warnings
and at most one per mutated entry about reading it (plus one about writing
it when it is a directory the fresh verdicts cannot replace; two per spec
when the key or the cache directory itself is broken: the entry cannot be
trusted and the fresh verdicts cannot be stored); a mutation that leaves an entry intact (it is
only re-formatted, say) is a cache hit without a word; and a second run
finds the cache healed (every entry a hit, nothing on stderr) whenever the
fresh verdicts could be stored.

Default run: 24 inputs (two runs of check each), derandomized; about 10 s.
Long run: ``--hostile-examples N`` (tests marked ``slow``).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from tests.hostile.harness import SPECS, assert_well_behaved, hostile_settings, run_inprocess

LPSW_CHECK = 'semantics = """\nsupervisor_only()\nbase = zext(a, 16)'
LPSW_NO_CHECK = 'semantics = """\nbase = zext(a, 16)'
ARGV = ["check", "--format", "json", "-j", "1"]


class Golden:
    """The specs, the filled cache and key, and what a fresh check of them says."""

    def __init__(self, d: Path):
        self.dir = d
        self.good, self.bad = d / "good.toml", d / "bad.toml"
        text = (SPECS / "pg74" / "pg74.toml").read_text(encoding="utf-8")
        assert text.count(LPSW_CHECK) == 1
        self.good.write_text(text, encoding="utf-8")
        self.bad.write_text(text.replace(LPSW_CHECK, LPSW_NO_CHECK), encoding="utf-8")
        self.cache, self.config = d / "cache", d / "config"

    def env(self, cache: Path, config: Path) -> dict:
        return {"VVERIFY_CACHE_DIR": str(cache), "XDG_CONFIG_HOME": str(config)}

    def run(self, monkeypatch, cache: Path, config: Path, key_env=None):
        for k, v in self.env(cache, config).items():
            monkeypatch.setenv(k, v)
        if key_env is None:
            monkeypatch.delenv("VVERIFY_CACHE_KEY", raising=False)
        else:
            monkeypatch.setenv("VVERIFY_CACHE_KEY", key_env)
        return run_inprocess(ARGV + [self.good, self.bad])


# a unit's JSON keys that are not verdicts: the evidence, and where this run got it (the proof cache,
# or the solver in so many seconds)
NOT_VERDICTS = ("answers", "replay_errors", "cached", "solver_seconds")


def _summary(r) -> tuple:
    """(outcome of each spec, failed claims of each, the verdicts (every unit's properties and each
    theorem's), cached flags) from a JSON report."""
    data = json.loads(r.out)
    reps = data["reports"]
    verdicts = tuple(json.dumps([{k: v for k, v in u.items() if k not in NOT_VERDICTS}
                                 for u in x["instructions"]]
                                + [(t["status"], t["violators"]) for _, t in sorted(x["theorems"].items())],
                                sort_keys=True) for x in reps)
    return (tuple(x["outcome"] for x in reps), tuple(tuple(sorted(c["name"] for c in x["claims"] if not c["ok"]))
                                                      for x in reps), verdicts, tuple(x["cached"] for x in reps))


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    from vverify.check import cache
    from vverify.check.run import DEFAULT_TIMEOUT_MS
    from vverify.spec.loader import load_spec

    g = Golden(tmp_path_factory.mktemp("golden"))
    with pytest.MonkeyPatch.context() as mp:
        r = g.run(mp, g.cache, g.config)
        assert r.code == 1 and not r.err, str(r)
        g.fresh = _summary(r)
        assert g.fresh[0] == ("pass", "fail") and g.fresh[3] == (False, False), g.fresh
        assert set(g.fresh[1][1]) == {"lpsw", "theorem1", "theorem2", "theorem3"}, g.fresh
        g.entry = {which: cache.key(load_spec(p).verdict_digest, DEFAULT_TIMEOUT_MS) + ".json"
                   for which, p in (("good", g.good), ("bad", g.bad))}
        assert sorted(p.name for p in g.cache.iterdir()) == sorted(g.entry.values())
        again = g.run(mp, g.cache, g.config)
        assert _summary(again)[3] == (True, True) and not again.err, str(again)
    return g


# ----------------------------------------------------------------------------------- mutations

JUNK_VALUES = [None, True, 0, -1, 1.5, "", "yes", "no", "unknown", [], {}, [[]], {"": None}, "\x00", "\udcff"]
HUGE_JSON = ["1" + "0" * 400, "-" + "9" * 4000, "1" + "0" * 5000, "1e999", "-1e999", "NaN", "Infinity", "2" * 4301]


def _paths(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), v
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,), v
            yield from _paths(v, path + (i,))


def _set(node, path, value):
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _answers(entry) -> list:
    """Paths of every answer in an entry."""
    out = []
    units = entry.get("payload", {}).get("units", [])
    for i, u in enumerate(units):
        for j, _ in enumerate(u.get("answers", [])):
            out.append(("payload", "units", i, "answers", j))
    return out


@st.composite
def json_mutation(draw, signed: bool):
    """A change to a parsed entry: a function of (entry, the other entry) returning the new file's text."""
    kinds = ["drop", "retype", "huge", "witness", "units"] + ([] if signed else ["flip", "field", "swap", "nan",
                                                                                    "deep", "dup-key", "surrogate"])
    kind = draw(st.sampled_from(kinds))
    pick = draw(st.integers(0, 10 ** 6))
    junk = draw(st.sampled_from(JUNK_VALUES))
    huge = draw(st.sampled_from(HUGE_JSON))
    field = draw(st.sampled_from(["format", "key", "mac", "payload"]))
    field_value = draw(st.sampled_from(["other", "upper", "", 1, 3, "2", 2.0, None, "\ud800", "\udcff", [], "drop"]))
    surrogate = draw(st.sampled_from(["\ud800", "\udfff", "\udcff", "a\udc80b"]))

    def apply(entry, other):
        paths = [p for p, _ in _paths(entry) if not (signed and p and p[0] != "payload")]
        if signed:  # payload changes only, and never a new "no": what a key holder may not slip in either
            paths = [p for p in paths if p[-1] != "status"]
        marker = None
        if kind == "drop" and paths:
            p = paths[pick % len(paths)]
            node = entry
            for k in p[:-1]:
                node = node[k]
            del node[p[-1]]
            note(f"drop {p!r}")
        elif kind == "retype" and paths:
            p, v = paths[pick % len(paths)], junk if not (signed and junk == "no") else None
            _set(entry, p, v)
            note(f"set {p!r} to {v!r}")
        elif kind == "huge":
            nums = [p for p, v in _paths(entry) if isinstance(v, (int, float)) and not isinstance(v, bool)
                    and (not signed or p[0] == "payload")]
            if nums:
                marker = "\u0000HUGE\u0000"
                _set(entry, nums[pick % len(nums)], marker)
                note(f"set {nums[pick % len(nums)]!r} to {huge[:12]}... ({len(huge)} characters)")
        elif kind == "witness":  # a yes's witness edited: its operands or states no longer what the solver found
            ws = [p for p, v in _paths(entry) if p and p[-1] in ("operands", "regs", "mem", "params", "outcomes", "files")
                  and isinstance(v, (dict, list))]
            if ws:
                p = ws[pick % len(ws)]
                node = entry
                for k in p:
                    node = node[k]
                note(f"edit the witness part {p!r}")
                if isinstance(node, dict) and node:
                    k = sorted(node)[pick % len(node)]
                    node[k] = junk if isinstance(junk, int) and not isinstance(junk, bool) else (
                        node[k] ^ 1 if isinstance(node[k], int) and not isinstance(node[k], bool) else 2 ** 5000)
                elif isinstance(node, dict):
                    node["zz"] = 1
                elif isinstance(node, list):
                    node.append(node[0] if node else "ok")
        elif kind == "units":  # units removed, duplicated, reordered, or with their answers cut
            units = entry["payload"]["units"]
            how = pick % 4
            note(f"units: {['remove one', 'duplicate one', 'reverse', 'halve the answers of one'][how]} ({pick})")
            if how == 0:
                units.pop(pick % len(units))
            elif how == 1:
                units.append(units[pick % len(units)])
            elif how == 2:
                units.reverse()
            else:
                u = units[pick % len(units)]
                u["answers"] = u["answers"][: len(u["answers"]) // 2]
        elif kind == "flip":
            answers = _answers(entry)
            a = entry
            for k in answers[pick % len(answers)]:
                a = a[k]
            a["status"] = {"yes": "no", "no": "yes"}.get(a["status"], "yes")
            note(f"flip {answers[pick % len(answers)]!r} to {a['status']}")
            if a["status"] == "no" and pick % 2:
                a["witness"] = None
        elif kind == "field":
            v = {"other": other.get(field), "upper": str(entry.get(field)).upper()}.get(field_value, field_value) \
                if isinstance(field_value, str) else field_value
            if field_value == "drop":
                entry.pop(field, None)
            else:
                entry[field] = v
            note(f"field {field!r}: {field_value!r}")
        elif kind == "swap":
            entry["payload"] = other["payload"]
        elif kind == "surrogate":  # a lone surrogate (a JSON escape: the file is still valid UTF-8) in some string
            strs = [p for p, v in _paths(entry) if isinstance(v, str)]
            _set(entry, strs[pick % len(strs)], surrogate)
            note(f"set {strs[pick % len(strs)]!r} to {surrogate!r}")
        elif kind == "nan":
            marker = "\u0000HUGE\u0000"
            huge_nan = [p for p, v in _paths(entry) if isinstance(v, float)] or [("payload", "units")]
            _set(entry, huge_nan[pick % len(huge_nan)], marker)
        elif kind == "deep":
            marker = "\u0000DEEP\u0000"
            entry["payload"] = marker
        text = json.dumps(entry)
        if kind == "dup-key":  # a second "payload": the first or the last one is the forged one
            forged = json.dumps(other["payload"])
            text = ('{"payload": ' + forged + ", " + text[1:]) if pick % 2 else (text[:-1] + ', "payload": ' + forged + "}")
        if marker is not None:
            value = huge if "HUGE" in marker else "[" * 100_000 + "]" * 100_000
            text = text.replace(json.dumps(marker), value)
        return text

    return kind, apply


def _sign(text: str, golden_env: dict) -> str:
    """``text`` (an entry) with its MAC recomputed with the key of the cache in ``golden_env``."""
    from vverify.check import signing

    old = {k: os.environ.get(k) for k in golden_env}
    os.environ.update(golden_env)
    try:
        entry = json.loads(text)
        entry["mac"] = signing.sign(entry, signing.secret())
    except (ValueError, TypeError, RecursionError):  # NaN, a huge int, deep nesting: left unsigned
        return text
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return json.dumps(entry)


BYTE_KINDS = ["truncate", "nul", "utf8", "bom", "utf16", "empty", "too-large"]
FILE_KINDS = ["fifo", "dir", "dir-with-files", "socket", "zero-link", "other-link", "self-link", "dangling",
              "hardlink-other", "chmod-000"]
KEY_KINDS = ["key-0644", "key-empty", "key-not-hex", "key-short", "key-dir", "key-fifo", "key-zero-link",
             "key-link-ok", "env-other", "env-empty"]
DIR_KINDS = ["cache-is-a-file", "junk"]
CONTROL = {"reformat", "dup-key-first", "key-link-ok", "env-empty", "junk"}  # the entry is intact: a silent hit
NO_HEAL = {"dir", "dir-with-files"}  # an entry the fresh verdicts cannot replace
BROKEN_KEY = {"key-0644", "key-empty", "key-not-hex", "key-short", "key-dir", "key-fifo", "key-zero-link",
              "cache-is-a-file"}  # nothing can be trusted nor stored


@st.composite
def cache_mutation(draw):
    """(level, kind, which entries, details): one hostile change to the cache."""
    level = draw(st.sampled_from(["json", "json", "signed", "bytes", "file", "file", "key", "dir", "control", "forge"]))
    which = draw(st.sampled_from([("bad",), ("bad",), ("good",), ("good", "bad")]))
    if level in ("json", "signed"):
        kind, apply = draw(json_mutation(level == "signed"))
        return level, kind, which, apply
    if level == "control":
        return level, draw(st.sampled_from(["reformat", "dup-key-first"])), which, draw(st.integers(0, 3))
    if level == "forge":  # issue 13's attack: the passing spec's answers under the failing spec's key
        return level, draw(st.sampled_from(["payload", "payload+mac", "whole"])), ("bad",), None
    if level == "bytes":
        return level, draw(st.sampled_from(BYTE_KINDS)), which, draw(st.integers(0, 10 ** 6))
    if level == "file":
        return level, draw(st.sampled_from(FILE_KINDS)), which, None
    if level == "key":
        return level, draw(st.sampled_from(KEY_KINDS)), ("good", "bad"), None
    return level, draw(st.sampled_from(DIR_KINDS)), ("good", "bad"), None


def apply_mutation(golden: Golden, cache: Path, config: Path, mutation):
    """Mutate the copies; returns the $VVERIFY_CACHE_KEY to run with (None: unset) and the entries
    the mutation left intact (the same JSON data, as a re-formatting or a no-op change does)."""
    level, kind, which, detail = mutation
    key_file = config / "vverify" / "cache.key"
    if level == "key":
        if kind == "env-other":
            return "another run's secret", set()
        if kind == "env-empty":
            return "", set()
        if kind == "key-0644":
            os.chmod(key_file, 0o644)
        elif kind == "key-link-ok":
            real = config / "real.key"
            key_file.rename(real)
            key_file.symlink_to(real)
        else:
            key_file.unlink()
            if kind == "key-empty":
                key_file.write_text("")
            elif kind == "key-not-hex":
                key_file.write_text("not a key at all\n")
            elif kind == "key-short":
                key_file.write_text("abcd\n")
            elif kind == "key-dir":
                key_file.mkdir()
            elif kind == "key-fifo":
                os.mkfifo(key_file)
            elif kind == "key-zero-link":
                key_file.symlink_to("/dev/zero")
            if key_file.is_file() and not key_file.is_symlink():
                os.chmod(key_file, 0o600)  # what is wrong with it is its content, not its mode
        return None, set()
    if level == "dir":
        if kind == "cache-is-a-file":
            shutil.rmtree(cache)
            cache.write_text("not a directory\n")
        else:
            (cache / ("0" * 64 + ".json")).write_text('{"format": 2}')
            os.mkfifo(cache / ("f" * 64 + ".json"))
            (cache / "a-dir.json").mkdir()
            (cache / "notes.txt").write_bytes(b"\xff\x00")
        return None, set()
    entries = {w: cache / golden.entry[w] for w in ("good", "bad")}
    texts = {w: entries[w].read_text(encoding="utf-8") for w in entries}
    intact = set()
    for w in which:
        e, other = entries[w], entries["bad" if w == "good" else "good"]
        if level in ("json", "signed"):
            text = detail(json.loads(texts[w]), json.loads(texts["bad" if w == "good" else "good"]))
            if level == "signed":
                text = _sign(text, golden.env(cache, config))
            e.write_text(text, encoding="utf-8")
        elif level == "control":
            entry = json.loads(texts[w])
            if kind == "reformat":
                text = json.dumps(dict(reversed(list(entry.items()))), indent=detail or None)
            else:  # a forged payload first, the real one last: JSON keeps the last
                text = '{"payload": ' + json.dumps({"units": []}) + ", " + json.dumps(entry)[1:]
            e.write_text(text, encoding="utf-8")
        elif level == "forge":
            entry, good = json.loads(texts[w]), json.loads(texts["good"])
            if kind == "whole":
                entry = dict(good, key=entry["key"])
            else:
                entry["payload"] = good["payload"]
                if kind == "payload+mac":
                    entry["mac"] = good["mac"]
            e.write_text(json.dumps(entry), encoding="utf-8")
        elif level == "bytes":
            raw = texts[w].encode("utf-8")
            pos = detail % (len(raw) + 1)
            new = {"truncate": raw[:pos], "nul": raw[:pos] + b"\x00" + raw[pos:], "utf8": raw[:pos] + b"\xff\xc3" + raw[pos:],
                   "bom": b"\xef\xbb\xbf" + raw, "utf16": texts[w].encode("utf-16"), "empty": b""}.get(kind)
            if kind == "too-large":
                with open(e, "r+b") as f:
                    f.truncate((256 << 20) + 1)  # sparse: costs no disk
            else:
                e.write_bytes(new)
        else:
            e.unlink()
            if kind == "fifo":
                os.mkfifo(e)
            elif kind == "dir":
                e.mkdir()
            elif kind == "dir-with-files":
                e.mkdir()
                (e / "x").write_text("x")
            elif kind == "socket":  # bound by a relative name: a socket's path is limited to 107 bytes
                s, here = socket.socket(socket.AF_UNIX), os.getcwd()
                try:
                    os.chdir(e.parent)
                    s.bind(e.name)
                finally:
                    os.chdir(here)
                    s.close()
            elif kind == "zero-link":
                e.symlink_to("/dev/zero")
            elif kind == "other-link":
                e.symlink_to(other.name)
            elif kind == "self-link":
                e.symlink_to(e.name)
            elif kind == "dangling":
                e.symlink_to("nowhere/x.json")
            elif kind == "hardlink-other":
                os.link(other, e)
            elif kind == "chmod-000":
                e.write_text(texts[w], encoding="utf-8")
                os.chmod(e, 0)
    for w in which:  # a regular file holding the same JSON as before (two entries linked to each other, say)
        e = entries[w]
        try:
            if e.is_file() and not e.is_symlink() and json.loads(e.read_bytes().decode("utf-8")) == json.loads(texts[w]):
                intact.add(w)
        except (OSError, ValueError, RecursionError):
            pass
    return None, intact


_serial = itertools.count()


def check_mutated_cache(golden: Golden, tmp: Path, monkeypatch, mutation, c):
    level, kind, which, _ = mutation
    d = tmp / f"c{next(_serial)}"
    cache, config = d / "cache", d / "config"
    shutil.copytree(golden.cache, cache)
    shutil.copytree(golden.config, config)
    key_env, intact = apply_mutation(golden, cache, config, mutation)
    note(f"{level} {kind} on {which}; intact: {sorted(intact)}")

    r = c.saw(golden.run(monkeypatch, cache, config, key_env))
    assert_well_behaved(r)
    assert r.code == 1, f"a mutated cache changed the exit status (expected 1):\n{r}"
    outcomes, failed, verdicts, cached = _summary(r)
    assert (outcomes, failed) == golden.fresh[:2], f"a mutated cache changed the outcome: {outcomes} {failed}\n{r}"
    if level != "signed":  # an unsigned change is never believed, so every verdict is the fresh one
        assert verdicts == golden.fresh[2], f"a mutated cache changed a verdict ({level} {kind}):\n{r}"
    mutated = [w for w in which if w not in intact]
    if kind in CONTROL or (which and not mutated):
        assert cached == (True, True) and not r.err, f"an intact entry was not a silent hit ({level} {kind}):\n{r}"
    elif kind in BROKEN_KEY:  # each spec: its entry cannot be trusted, its fresh verdicts cannot be stored
        assert len(r.err_lines) <= 2 * 2, f"more than two warnings per spec ({level} {kind}):\n{r}"
    else:
        reading = [x for x in r.err_lines if "cache entry" in x]
        writing = [x for x in r.err_lines if "could not write the cache" in x]
        assert len(reading) <= len(mutated), \
            f"{len(reading)} warnings about reading {len(mutated)} mutated entries ({level} {kind}):\n{r}"
        assert len(writing) <= (len(mutated) if kind in NO_HEAL else 0), \
            f"warnings about writing the cache ({level} {kind}):\n{r}"
        assert len(r.err_lines) == len(reading) + len(writing), f"other warnings ({level} {kind}):\n{r}"
        if level != "signed":
            for w in mutated:
                assert not cached[("good", "bad").index(w)], f"a mutated {w} entry was believed ({level} {kind}):\n{r}"

    again = c.saw(golden.run(monkeypatch, cache, config, key_env))
    assert_well_behaved(again)
    assert again.code == 1 and _summary(again)[:2] == golden.fresh[:2], f"second run:\n{again}"
    if kind not in NO_HEAL and kind not in BROKEN_KEY:
        assert _summary(again)[3] == (True, True) and not again.err, \
            f"the cache did not heal after {level} {kind} (the fresh verdicts were not stored, or not believed):\n{again}"
    shutil.rmtree(d, ignore_errors=True)


def test_mutated_cache_never_passes_a_failing_spec(golden, tmp_path, monkeypatch, examples, campaign):
    c = campaign("cache")

    @hostile_settings(examples, default=24)
    @given(mutation=cache_mutation())
    def run(mutation):
        with c.input():
            check_mutated_cache(golden, tmp_path, monkeypatch, mutation, c)

    run()
