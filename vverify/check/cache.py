"""A content-addressed cache of solver results, signed so that a shared cache cannot lie.

The key covers everything a verdict depends on: the bytes of the spec and of
every spec it extends, vverify's version *and* a digest of its source (so a
developer's edit to a backend invalidates old proofs too), z3's version and
the query timeout.  A changed spec therefore never reuses an old verdict.

Entries are written atomically and signed (:mod:`.signing`): an entry is
only returned when it is a regular file, well-formed, for this key, and its
MAC verifies with the reader's key.  Anything else is ignored with one
warning line and the spec is solved afresh; nothing in a cache directory can
raise, hang a check, or make it pass.  What is checked after this (the
payload's shape, every witness replayed) is in :mod:`.run`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import vverify

from ..files import cache_dir, read_regular, write_atomic
from . import signing

FORMAT = 3  # 2: entries carry a MAC; 3: keyed by what verdicts depend on, and hold the decided units only
MAX_ENTRY_BYTES = 256 << 20  # x86_32's entry is under 2 MB
VERDICT_CODE = ("spec", "formal", "interp", "check")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the code that decides verdicts (spec, formal, interp, check).

    Editing a report formatter or the CLI does not invalidate proofs; editing
    anything that could change a verdict does.
    """
    h = hashlib.sha256()
    root = Path(vverify.__file__).parent
    for sub in VERDICT_CODE:
        for p in sorted((root / sub).rglob("*")):
            if p.suffix in (".py", ".json") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def z3_version() -> str:
    try:
        return metadata.version("z3-solver")
    except metadata.PackageNotFoundError:  # pragma: no cover - z3 is a dependency
        import z3

        return z3.get_version_string()


def key(verdict_digest: str, timeout_ms: int) -> str:
    """The entry name for a spec whose Spec.verdict_digest is ``verdict_digest`` (what its verdicts depend
    on), under this vverify, z3 and timeout."""
    h = hashlib.sha256()
    for part in (f"format={FORMAT}", verdict_digest, vverify.__version__, code_digest(), z3_version(), str(timeout_ms)):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


class CacheWarning(UserWarning):
    """A cache entry that is not used, or a cache that cannot be written; never an error."""


def warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=3)


def entry_path(k: str) -> Path:
    return cache_dir() / f"{k}.json"


def load(k: str):
    """The payload stored under ``k``, or None: when there is none, or (with a warning) when the entry
    is not a readable regular file, not well-formed, not for ``k``, or not signed with our key."""
    path = entry_path(k)
    try:
        raw = read_regular(path, MAX_ENTRY_BYTES, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as e:
        warn(f"vverify: ignoring unreadable cache entry {path}: {e.strerror or e}")
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != k or "payload" not in data:
            raise ValueError("wrong format or key")
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        warn(f"vverify: ignoring corrupt cache entry {path} ({_short(e)})")
        return None
    try:
        secret = signing.secret()
    except signing.NoKey as e:
        warn(f"vverify: not using the proof cache: {e}")
        return None
    if not signing.verify(data, secret):
        warn(f"vverify: not trusting cache entry {path}: it is not signed with this cache key "
             f"(made with another key, or altered); solving afresh")
        return None
    return data["payload"]


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


def store(k: str, payload) -> None:
    d = cache_dir()
    try:
        secret = signing.secret()
    except signing.NoKey as e:
        warn(f"vverify: not writing the proof cache: {e}")
        return
    entry = {"format": FORMAT, "key": k, "payload": payload}
    try:
        entry["mac"] = signing.sign(entry, secret)
        d.mkdir(parents=True, exist_ok=True)
        write_atomic(d / f"{k}.json", json.dumps(entry), follow_symlinks=False)
    except (OSError, ValueError) as e:
        warn(f"vverify: could not write the cache in {d}: {getattr(e, 'strerror', None) or _short(e)}")


def clear() -> int:
    d = cache_dir()
    n = 0
    if d.is_dir():
        for p in d.glob("*.json"):
            p.unlink(missing_ok=True)
            n += 1
    return n
