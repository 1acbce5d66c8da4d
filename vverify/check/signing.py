"""The proof cache's signing key, and the MAC that says an entry is ours.

A cache entry's "no" answers are unsat proofs that nothing on disk can
re-check short of solving again, and CI systems share cache directories
across runs and branches.  So an entry is only used when it carries an
HMAC-SHA256, over its canonical JSON, made with a key its reader holds and
the cache directory does not: whoever can write to the cache but not read
the key cannot make a failing spec pass.

The key is ``$VVERIFY_CACHE_KEY`` when set (CI: a secret shared by the runs
that share a cache), else a random per-user key in
``$XDG_CONFIG_HOME/vverify/cache.key`` (default ``~/.config/vverify``),
created on first use with mode 0600.  A key file that others may read, that
another user owns, or that lies inside the cache directory is not used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from pathlib import Path

from ..files import cache_dir, read_regular

ENV = "VVERIFY_CACHE_KEY"
KEY_BYTES = 32


class NoKey(Exception):
    """No usable key: the cache can be neither trusted nor written."""


def key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "vverify" / "cache.key"


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


def _create(path: Path) -> None:
    """Write a new random key to ``path`` unless someone else did first; never a half-written key
    (it is linked into place complete, and a key already there wins)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(KEY_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def secret() -> bytes:
    """The key, from the environment or the key file (created if missing); raises :class:`NoKey`."""
    env = os.environ.get(ENV)
    if env:  # empty means unset: CI expands a secret a fork's pull request cannot see to ""
        return hashlib.sha256(b"vverify cache key\0" + env.encode("utf-8", "surrogateescape")).digest()
    path = key_file()
    if _inside(path, cache_dir()):
        raise NoKey(f"the key file {path} is inside the cache directory; set ${ENV} or $XDG_CONFIG_HOME")
    try:
        try:
            raw = read_regular(path, 4096)
        except FileNotFoundError:
            _create(path)
            raw = read_regular(path, 4096)
        st = os.stat(path)
    except OSError as e:
        raise NoKey(f"cannot read or create the key file {path}: {e.strerror or e}") from None
    if st.st_mode & 0o077:
        raise NoKey(f"the key file {path} may be read by others (mode {stat.S_IMODE(st.st_mode):o}); "
                    f"make it 0600 or set ${ENV}")
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise NoKey(f"the key file {path} belongs to another user")
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except ValueError:
        key = b""
    if len(key) < 16:
        raise NoKey(f"the key file {path} does not hold a key (hex digits); delete it to make a new one")
    return key


def canonical(entry: dict) -> bytes:
    """The bytes a MAC covers: the entry without its MAC, as sorted, compact, ASCII JSON (the same
    bytes after a round trip through the file, since Python's floats print exactly)."""
    body = {k: v for k, v in entry.items() if k != "mac"}
    return b"vverify proof cache\0" + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                                                  allow_nan=False).encode("ascii")


def sign(entry: dict, key: bytes) -> str:
    return hmac.new(key, canonical(entry), hashlib.sha256).hexdigest()


def verify(entry: dict, key: bytes) -> bool:
    """Whether ``entry["mac"]`` is the MAC of ``entry`` under ``key``; False for anything malformed."""
    mac = entry.get("mac")
    if not isinstance(mac, str) or not mac.isascii():  # a MAC is hex: anything else is not ours
        return False
    try:
        expected = sign(entry, key)
    except (ValueError, TypeError, RecursionError):  # NaN, a non-string key, absurd nesting
        return False
    return hmac.compare_digest(expected.encode(), mac.encode("ascii"))
