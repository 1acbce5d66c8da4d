"""A content-addressed cache of solver results.

The key covers everything a verdict depends on: the bytes of the spec and of
every spec it extends, vverify's version *and* a digest of its source (so a
developer's edit to a backend invalidates old proofs too), z3's version and
the query timeout.  A changed spec therefore never reuses an old verdict.
Entries are written atomically; an unreadable entry is ignored with a
warning, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import vverify

from ..files import cache_dir, write_atomic

FORMAT = 1
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


def key(spec_digest: str, timeout_ms: int) -> str:
    h = hashlib.sha256()
    for part in (f"format={FORMAT}", spec_digest, vverify.__version__, code_digest(), z3_version(), str(timeout_ms)):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def load(k: str):
    path = cache_dir() / f"{k}.json"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        warnings.warn(f"vverify: ignoring unreadable cache entry {path}: {e}")
        return None
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT or data.get("key") != k:
            raise ValueError("wrong format or key")
        return data["payload"]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        warnings.warn(f"vverify: ignoring corrupt cache entry {path} ({e})")
        return None


def store(k: str, payload) -> None:
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        write_atomic(d / f"{k}.json", json.dumps({"format": FORMAT, "key": k, "payload": payload}))
    except OSError as e:
        warnings.warn(f"vverify: could not write the cache in {d}: {e}")


def clear() -> int:
    d = cache_dir()
    n = 0
    if d.is_dir():
        for p in d.glob("*.json"):
            p.unlink(missing_ok=True)
            n += 1
    return n
