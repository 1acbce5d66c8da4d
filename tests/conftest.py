"""Shared fixtures: the bundled specs, loaded once, and an isolated proof cache."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

import vverify.fuzz.profiles  # noqa: F401  (registers the ci, dev and fuzz profiles)

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "specs"
SPEC_FILES = sorted(SPEC_DIR.glob("*.toml"))

settings.load_profile(os.environ.get("VVERIFY_HYPOTHESIS_PROFILE", "ci"))


# Compiled cores are keyed by their generated source, so one directory can serve every
# test session: a warm machine skips numba compilation.
os.environ.setdefault("VVERIFY_CORE_CACHE_DIR", str(ROOT / ".vverify-cache" / "core"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own proof cache, so no test depends on another's results."""
    monkeypatch.setenv("VVERIFY_CACHE_DIR", str(tmp_path / "cache"))


_loaded = {}


def load(name_or_path):
    from vverify.spec.loader import load_spec

    p = Path(name_or_path)
    if not p.suffix:
        p = SPEC_DIR / f"{name_or_path}.toml"
    key = str(p)
    if key not in _loaded:
        _loaded[key] = load_spec(p)
    return _loaded[key]


_reports = {}


def report_of(name_or_spec):
    """The check report of a bundled spec, computed once per session (proofs are deterministic)."""
    from vverify.check.run import check_spec

    spec = load(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    if spec.digest not in _reports:
        _reports[spec.digest] = check_spec(spec, use_cache=False)
    return _reports[spec.digest]


# Sections of a spec file that shape the machine its instructions run on.
_MACHINE_SECTIONS = ("state", "traps", "helpers", "constants", "enums", "operands")


def own_instructions(path) -> list:
    """The instructions whose semantics the spec at ``path`` introduces.

    A spec that extends another and redeclares nothing of the machine (only
    instructions of its own, a virtualization map or claims) runs its
    parent's instructions with its parent's semantics; a test of how the
    backends execute them is made once, under the parent.  x86_32_cpl1,
    which differs from x86_32 only in its map, introduces none.
    """
    import tomllib

    spec = load(path)
    own = tomllib.loads(Path(path).read_text())
    if len(spec.paths) > 1 and not any(k in own for k in _MACHINE_SECTIONS):
        return [n for n in spec.instructions if n in own.get("instructions", {})]
    return list(spec.instructions)


def _with_guest_library():
    from vverify.bench.workloads import has_guest_library

    return [p.stem for p in SPEC_FILES if has_guest_library(p.stem)]


GUEST_SPECS = _with_guest_library()  # the bundled specs that have guest programs to run
MACHINE_SPECS = [p.stem for p in SPEC_FILES if own_instructions(p)]  # the specs that introduce semantics
