"""Reading and writing files safely: the one place that knows how.

A leaf module (it imports nothing from vverify but :mod:`vverify.errors`) so
that every layer can use it: the proof cache, the compiled-core cache, the
Hypothesis database and the command line's ``-o FILE``.

* :func:`read_regular` reads a file only if it is a regular file, and at
  most a given number of bytes: a cache directory shared between CI runs
  may hold anything, and a FIFO or a device there must not hang a check.
* :func:`write_atomic` replaces a regular file so that readers see the old
  file or the new one, never half of it, keeping the old file's
  permissions, and writes through a symlink rather than replacing it.
* :func:`write_output` is what ``-o FILE`` means: atomically for a file,
  and in place for what is not one (``/dev/stdout``, a FIFO, a device),
  which must never be replaced by a file.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

_MAX_LINKS = 40  # as the kernel's ELOOP limit


def cache_dir() -> Path:
    """vverify's cache directory: ``$VVERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/vverify``."""
    env = os.environ.get("VVERIFY_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vverify"


class NotARegularFile(OSError):
    """A path that exists but is a FIFO, a device, a socket or a directory where a file was expected."""


class FileTooLarge(OSError):
    """A file larger than its reader will hold in memory."""


def read_regular(path, limit: int, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    The file is opened non-blocking and checked with ``fstat`` on the open
    descriptor, so a FIFO or a device is refused without waiting on it and
    the check cannot be raced by a rename.  Without ``follow_symlinks`` a
    symlink is refused too.  Raises :class:`FileNotFoundError`,
    :class:`NotARegularFile`, :class:`FileTooLarge` or another ``OSError``.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP and not follow_symlinks:
            raise NotARegularFile(errno.ELOOP, "a symbolic link, not a regular file", str(path)) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(errno.EINVAL, "not a regular file", str(path))
        if st.st_size > limit:
            raise FileTooLarge(errno.EFBIG, f"larger than {limit} bytes", str(path))
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew while we read it
                raise FileTooLarge(errno.EFBIG, f"larger than {limit} bytes", str(path))
    finally:
        os.close(fd)


def _on_procfs(directory: str) -> bool:
    return directory == "/proc" or directory.startswith("/proc/")


def resolve(path) -> tuple[Path, str]:
    """Follow ``path``'s symlinks to what a write should go to: ``(path, kind)``.

    ``kind`` is ``"file"`` (an existing regular file), ``"new"`` (nothing
    there yet), ``"dir"``, or ``"special"`` (a FIFO, device or socket, or a
    file reached through ``/proc``, such as ``/dev/stdout`` ->
    ``/proc/self/fd/1``: those name an open descriptor, not a place a file
    could be put).  Each symlink is followed one step at a time, so a link
    into ``/proc`` is seen as such before ``/proc`` resolves it further.
    """
    p = os.fspath(path)
    if not os.path.isabs(p):
        p = os.path.join(os.getcwd(), p)
    for _ in range(_MAX_LINKS):
        head, tail = os.path.split(p)
        head = os.path.realpath(head)
        p = os.path.join(head, tail)
        if _on_procfs(head):
            return Path(p), "special"
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return Path(p), "new"
        if stat.S_ISLNK(st.st_mode):
            p = os.path.join(head, os.readlink(p))
            continue
        if stat.S_ISREG(st.st_mode):
            return Path(p), "file"
        return Path(p), "dir" if stat.S_ISDIR(st.st_mode) else "special"
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), os.fspath(path))


def _encode(data) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _temporary(directory: Path, name: str) -> tuple[int, str]:
    """A new file next to the target, created with mode 0666 less the umask (as ``open`` would),
    not mkstemp's 0600: a report or cache entry is no more private than any file its user writes."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def _kind(path) -> str:
    """What is at ``path`` itself, a symlink not followed: as :func:`resolve`'s kinds, or "link"."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "new"
    if stat.S_ISLNK(mode):
        return "link"
    return "file" if stat.S_ISREG(mode) else "dir" if stat.S_ISDIR(mode) else "special"


def write_atomic(path, data, *, follow_symlinks: bool = True) -> None:
    """Write ``data`` (text or bytes) to the regular file ``path`` so that readers see the old file or
    the new one, never half.

    A symlink is followed and its target replaced, so the link stays a
    link.  The replaced file's permission bits (and, where allowed, its
    owner and group) carry over to the new one.  A directory, a FIFO or a
    device is never replaced: :class:`NotARegularFile` (see
    :func:`write_output` for writing to those).

    Without ``follow_symlinks`` (a directory of vverify's own, such as the
    proof cache, which others may fill) whatever is at ``path`` but a
    directory is replaced by the new file: a planted symlink is never
    written through.
    """
    if follow_symlinks:
        target, kind = resolve(path)
    else:
        target, kind = Path(path), _kind(path)
        kind = "new" if kind in ("link", "special") else kind
    if kind not in ("file", "new"):
        raise NotARegularFile(errno.EISDIR if kind == "dir" else errno.EINVAL,
                              "is a directory" if kind == "dir" else "not a regular file", os.fspath(path))
    old = None
    if kind == "file":
        try:
            old = os.lstat(target)
        except FileNotFoundError:  # removed meanwhile: a new file it is
            pass
    fd, tmp = _temporary(target.parent, target.name)
    try:
        with os.fdopen(fd, "wb") as f:
            if old is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))
                try:
                    os.fchown(f.fileno(), old.st_uid, old.st_gid)
                except OSError:  # not ours to give away: the new file is the writer's
                    pass
            f.write(_encode(data))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_in_place(target: Path, data: bytes) -> None:
    """Write to what ``target`` names without replacing it: a descriptor of ours (``/dev/stdout``) is
    written through a duplicate of it; anything else is opened for appending (a FIFO or device does
    not care; a log that stdout was redirected to with ``>>`` keeps what it held)."""
    head, tail = os.path.split(os.fspath(target))
    own = {os.path.realpath("/proc/self/fd"), "/proc/self/fd", "/dev/fd"}
    if head in own and tail.isdigit():
        fd = os.dup(int(tail))
    else:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_output(path, data) -> None:
    """Write a report to ``path`` the way a user means it.

    A regular file (or a symlink to one, or nothing yet) is written
    atomically with :func:`write_atomic`: whole or not at all.  A FIFO, a
    device or a descriptor (``/dev/stdout``, ``/dev/null``, ``/dev/fd/3``)
    is written in place, never replaced, since it is a stream, not a file.
    A directory is refused (:class:`NotARegularFile`).
    """
    target, kind = resolve(path)
    if kind == "special":
        _write_in_place(target, _encode(data))
    else:
        write_atomic(target, data)


__all__ = ["FileTooLarge", "NotARegularFile", "cache_dir", "read_regular", "resolve", "write_atomic",
           "write_output"]
