"""Shared fixtures: the bundled specs, loaded once, and an isolated proof cache."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

import vverify.fuzz.profiles  # noqa: F401  (registers the ci, dev and fuzz profiles)

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "specs"  # one folder per ISA: its spec, its variants, its guest library
SPEC_FILES = sorted(SPEC_DIR.rglob("*.toml"), key=lambda p: p.stem)
# Specs of the tests' own, not bundled: each uses the language features no bundled spec does, so that
# the agreement tests hold every backend to the interpreter on them (banked registers, excluded
# encoding values, bit indices from operands).  Found by spec_path and load like bundled ones.
LANGUAGE_SPECS = ["lang"]
_TEST_SPEC_FILES = [ROOT / "tests" / "agreement" / "data" / "lang.toml",
                   ROOT / "tests" / "agreement" / "data" / "lang_irq.toml"]  # only its own tests run it, until the core runs a boundary


def spec_path(name: str) -> Path:
    """The bundled spec file called ``name`` (``pg74``, ``x86_32_vtx``), or a LANGUAGE_SPECS one."""
    for p in SPEC_FILES + _TEST_SPEC_FILES:
        if p.stem == name:
            return p
    raise KeyError(f"no bundled spec '{name}'")


settings.load_profile(os.environ.get("VVERIFY_HYPOTHESIS_PROFILE", "ci"))


# Compiled cores are keyed by their generated source, so one directory can serve every
# test session: a warm machine skips numba compilation.
os.environ.setdefault("VVERIFY_CORE_CACHE_DIR", str(ROOT / ".vverify-cache" / "core"))


# What says where the proof cache is and which key signs it (see vverify/check/signing.py).
_CACHE_ENV = ("VVERIFY_CACHE_DIR", "VVERIFY_CACHE_KEY", "XDG_CONFIG_HOME")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test's own checks get a proof cache, and a cache key, of their own, so no test depends
    on another's results and none touches the user's key (report_of, below, shares the bundled
    specs' verdicts on purpose)."""
    monkeypatch.setenv("VVERIFY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the key file: tmp_path/config/vverify
    monkeypatch.delenv("VVERIFY_CACHE_KEY", raising=False)


_loaded = {}


def load(name_or_path):
    from vverify.spec.loader import load_spec

    p = Path(name_or_path)
    if not p.suffix:
        p = spec_path(str(name_or_path))
    key = str(p)
    if key not in _loaded:
        _loaded[key] = load_spec(p)
    return _loaded[key]


_reports = {}

# The proof cache the session started with: $VVERIFY_CACHE_DIR, or vverify's default, and the key
# that signs it.  The README's first command (`vverify check`) fills it with every bundled spec's
# verdicts, under keys made of the spec's bytes, the verdict code's bytes and z3's version, so a hit
# is the verdict this code would derive.  Read at import, before _isolated_cache points each test at
# a cache of its own.
_SESSION_PROOFS = {k: os.environ.get(k) for k in _CACHE_ENV}


def report_of(name_or_spec):
    """The check report of a bundled spec, once per session, through the session's proof cache.

    Tests that classify a spec themselves (tests/check, the mutation tests) solve it fresh in their
    own cache; the many tests that only need a bundled spec's verdicts share these.
    """
    from vverify.check.run import check_spec

    spec = load(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    if spec.digest not in _reports:
        isolated = {k: os.environ.pop(k, None) for k in _CACHE_ENV}
        os.environ.update({k: v for k, v in _SESSION_PROOFS.items() if v is not None})
        try:
            _reports[spec.digest] = check_spec(spec, use_cache=True, jobs=2)
        finally:
            for k in _CACHE_ENV:
                os.environ.pop(k, None)
            os.environ.update({k: v for k, v in isolated.items() if v is not None})
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
from tests.hostile.plugin import pytest_addoption, pytest_runtest_logreport, pytest_terminal_summary  # noqa: E402,F401  (--hostile-examples N: the long hostile-input campaign; its summary)
