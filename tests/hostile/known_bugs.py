"""The inputs of the bugs the hostile-input campaign found: a predicate for each kind.

All five are fixed; tests/hostile/test_found_bugs.py runs each exact input
and uses these predicates to show that its input is of the kind that broke
vverify.  While a new bug is open, its predicate also lets the campaign set
such inputs aside (``Counter.known``) so that the default run keeps looking
for others; the campaign uses none today.
"""

from __future__ import annotations

import json
from pathlib import Path

# 1. A proof-cache entry whose "mac" holds a lone surrogate (the JSON escape "\ud800": the file is valid
#    UTF-8 JSON) crashes `vverify check` with a traceback (UnicodeEncodeError in signing.verify) instead
#    of being set aside with one warning.  Anyone who can write to a shared cache can crash the gate.
CACHE_MAC_SURROGATE = "cache entry with a lone surrogate in its mac: traceback"


def cache_mac_surrogate(entry: Path) -> bool:
    try:
        if entry.is_symlink() or not entry.is_file():
            return False
        data = json.loads(entry.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    mac = data.get("mac") if isinstance(data, dict) else None
    return isinstance(mac, str) and any(0xD800 <= ord(ch) <= 0xDFFF and not 0xDC80 <= ord(ch) <= 0xDCFF for ch in mac)


# 4. A proof-cache entry signed with the right key whose payload has an answer's "seconds" as an integer
#    too large for a float (10**400) crashes `vverify check` with a traceback (OverflowError from
#    math.isfinite in vverify/check/entry.py, _answer) instead of the entry being set aside as corrupt.
#    It takes the key to sign such an entry, but entry.py promises BadEntry as the one error a bad
#    payload raises.
CACHE_HUGE_SECONDS = "signed cache entry with seconds = 10**400: traceback"


def cache_huge_seconds(entry: Path) -> bool:
    try:
        if entry.is_symlink() or not entry.is_file():
            return False
        data = json.loads(entry.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    units = data.get("payload", {}).get("units") if isinstance(data, dict) and isinstance(data.get("payload"), dict) else None
    for u in units if isinstance(units, list) else []:
        for a in (u.get("answers") if isinstance(u, dict) and isinstance(u.get("answers"), list) else []):
            s = a.get("seconds") if isinstance(a, dict) else None
            if isinstance(s, int) and not isinstance(s, bool) and abs(s) > 2 ** 1023:
                return True
    return False


# 5. A proof-cache entry signed with the right key, from which one "yes" answer is removed (lpsw's
#    runs_in_user, in pg74 without lpsw's privilege check) makes that failing spec pass: exit 0.  The
#    payload check (vverify/check/entry.py) accepts a unit that lacks questions vverify always asks,
#    and an absent "yes" is then derived as a "no": an unsat proof nobody made.  It takes the key,
#    whose holder could sign a "no" anyway, so this is defence in depth; but docs/ci.md promises a
#    payload of "exactly the shape vverify writes", and a writer bug that dropped an answer would
#    pass a failing gate.
CACHE_ANSWERS_MISSING = "signed cache entry missing a 'yes' answer: a failing spec passes"


def cache_answers_missing(entry: Path, original: str) -> bool:
    """Whether the entry at ``entry`` has a unit with fewer answers than that unit has in ``original``."""
    def answers(data):
        units = data.get("payload", {}).get("units") if isinstance(data, dict) and isinstance(data.get("payload"), dict) else []
        return {u.get("id"): len(u["answers"]) for u in units if isinstance(u, dict) and isinstance(u.get("answers"), list)
                and isinstance(u.get("id"), str)} if isinstance(units, list) else {}

    try:
        if entry.is_symlink() or not entry.is_file():
            return False
        now = answers(json.loads(entry.read_bytes().decode("utf-8")))
        before = answers(json.loads(original))
    except (OSError, ValueError, RecursionError, AttributeError):
        return False
    return any(uid in before and n < before[uid] for uid, n in now.items())


# 2. `vverify lint DIR` and `vverify check DIR`, when DIR holds a symlink loop named *.toml, crash with a
#    traceback (RuntimeError "Symlink loop from ..." from Path.resolve in the loader) instead of a
#    one-line error about that file.
SPEC_SYMLINK_LOOP = "lint/check of a directory holding a *.toml symlink loop: traceback"


def spec_symlink_loop(args, cwd: Path) -> bool:
    """Whether ``args`` (vverify's parsed argv) would lint or check a directory, under ``cwd``, that holds a
    *.toml symlink loop."""
    if args is None or args.command not in ("check", "lint"):
        return False
    for p in args.paths:
        d = cwd / p
        try:
            if d.is_dir() and any(f.is_symlink() and not f.exists() and _loops(f) for f in d.rglob("*.toml")):
                return True
        except OSError:
            continue
    return False


def _loops(f: Path) -> bool:
    try:
        f.resolve(strict=True)
    except RuntimeError:
        return True
    except OSError as e:
        return e.errno == 40  # ELOOP
    return False


# 3. `vverify report FILE`, when FILE is JSON nested some thousands deep (an array in an array in ...),
#    crashes with a traceback (RecursionError from json.loads in vverify/bench/results.py, _check_json)
#    instead of a one-line "not a pyperf benchmark file".
REPORT_DEEP_JSON = "report of a deeply nested JSON file: traceback"


def report_deep_json(args, cwd: Path) -> bool:
    """Whether ``args`` (vverify's parsed argv) would make ``report`` read a JSON file under ``cwd`` nested
    more deeply than Python's recursion limit allows json to decode."""
    if args is None or args.command != "report":
        return False
    return any(_nests_deeply(cwd / f) for f in (args.files or []))


def _nests_deeply(path: Path, limit: int = 500) -> bool:
    try:
        if not path.is_file() or path.stat().st_size > 16 << 20:
            return False
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return False
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string, escaped = True, False
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest > limit
