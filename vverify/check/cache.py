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
import os
import tempfile
import warnings
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import vverify

FORMAT = 1
VERDICT_CODE = ("spec", "formal", "interp", "check")


def cache_dir() -> Path:
    env = os.environ.get("VVERIFY_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vverify"


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


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
