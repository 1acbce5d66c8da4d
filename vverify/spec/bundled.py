"""The specs bundled with vverify, wherever vverify is installed.

The repository keeps them in ``specs/`` at its top level, one folder per
ISA (its spec, its variants, its guest boot stub and workloads).  The
packaging maps that folder to the package ``vverify.bundled_specs``, so
``importlib.resources`` finds it in a wheel, an editable install and a
checkout alike; nothing here guesses paths from ``__file__``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled_dir() -> Path:
    """The folder holding the bundled specs (a real directory: wheels install unzipped)."""
    return Path(str(resources.files("vverify.bundled_specs")))


def bundled_paths() -> list:
    """Every bundled spec file, sorted."""
    return sorted(bundled_dir().rglob("*.toml"))


def bundled_names() -> list:
    return [p.stem for p in bundled_paths()]


def find_bundled(name: str) -> Path | None:
    """The bundled spec file called ``name`` (``riscv32``, ``x86_32_vtx``), or None."""
    for p in bundled_paths():
        if p.stem == name:
            return p
    return None


def resolve(arg) -> Path:
    """A spec argument as a path: an existing file or directory, else a bundled spec's name.

    So ``vverify check riscv32`` works from any directory, while a file of
    that name in the working directory still wins.
    """
    from ..errors import UsageError

    p = Path(arg)
    try:
        exists = p.exists()
    except (OSError, ValueError):  # a name too long, a NUL...
        exists = False
    if exists:
        return p
    found = find_bundled(str(arg)) if "/" not in str(arg) and not str(arg).endswith(".toml") else None
    if found is None:
        raise UsageError(f"no spec '{arg}': no such file or directory here, nor a bundled spec of that name "
                         f"(bundled: {', '.join(bundled_names())})")
    return found
