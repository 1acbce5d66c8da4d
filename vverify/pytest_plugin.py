"""pytest plugin: every claim of a spec, and every classified instruction, is a test.

Registered under the ``pytest11`` entry point, so pytest loads it in every
run in an environment where vverify is installed, including runs that have
nothing to do with specs.  It therefore imports nothing heavy here: z3 and
the checker are imported when the first spec file is collected, and the
solver runs when the first item of a spec runs (``--collect-only`` never
solves).

A spec file is collected when pytest is asked to collect it (it lies under
a path given on the command line, or under ``testpaths``) *and* it matches
one of the globs of the ``vverify_specs`` ini option (``--vverify-specs`` on
the command line), relative to the rootdir.  A project whose ``testpaths``
is ``tests`` therefore collects no spec until someone runs ``pytest specs/``.

Items (node ids are stable, so ``-k``, ``--deselect``, junit and xdist work)::

    specs/pg74/pg74.toml::claim::theorem1      one per claim of the spec
    specs/pg74/pg74.toml::claim::lpsw
    specs/pg74/pg74.toml::instr::lpsw          one per classified unit; passes when its
    specs/riscv32/riscv32.toml::instr::csrrs.mstatus   verdicts rest on no unknown answer and
                                               no witness that fails to replay

The spec is checked once per file per process (with the proof cache on), the
first time one of its items runs.

An item whose verdict is undecided (a solver timeout) fails, as ``vverify
check`` exits 3: a timeout is never a pass.  ``--vverify-allow-unknown``
(ini ``vverify_allow_unknown = true``) makes such items skipped instead,
with the reason, as ``vverify check --allow-unknown`` exits 0.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePath

import pytest

DEFAULT_GLOB = "specs/**/*.toml"


def pytest_addoption(parser):
    group = parser.getgroup("vverify", "vverify ISA specs")
    group.addoption("--vverify-specs", action="append", metavar="GLOB", default=None,
                    help=f"collect spec files matching GLOB, relative to the rootdir (repeatable; "
                         f"overrides the vverify_specs ini option; default {DEFAULT_GLOB})")
    group.addoption("--vverify-timeout", metavar="SECONDS", default=None,
                    help="seconds per solver query, from 0.001 to 4294967.295 (overrides the vverify_timeout "
                         "ini option; default 20)")
    group.addoption("--vverify-allow-unknown", action="store_true", default=None,
                    help="skip, rather than fail, items whose verdict is undecided (a solver timeout): "
                         "gives up the guarantee that a green run proved every claim")
    parser.addini("vverify_specs", type="args", default=[DEFAULT_GLOB],
                  help="globs of spec files to collect, relative to the rootdir")
    parser.addini("vverify_timeout", default="20", help="seconds per solver query (default 20, as `vverify check`)")
    parser.addini("vverify_allow_unknown", type="bool", default=False,
                  help="skip undecided items instead of failing them (as `vverify check --allow-unknown`)")


def pytest_configure(config):
    _timeout_ms(config)  # a bad timeout is a usage error up front, not a failure of every item


def _globs(config) -> list:
    return config.getoption("vverify_specs") or config.getini("vverify_specs") or [DEFAULT_GLOB]


def _glob_match(parts, pattern) -> bool:
    """Path.glob semantics on path parts: ``*`` stays within a directory, ``**`` spans any number."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_glob_match(parts[i:], pattern[1:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and _glob_match(parts[1:], pattern[1:])


def is_spec_file(config, path: Path) -> bool:
    root = Path(config.rootpath).resolve()
    try:
        rel = Path(path).resolve().relative_to(root)
    except ValueError:
        return False
    for g in _globs(config):
        pat = PurePath(g)
        if pat.is_absolute():
            try:
                pat = pat.relative_to(root)
            except ValueError:
                continue
        if _glob_match(rel.parts, pat.parts):
            return True
    return False


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix == ".toml" and is_spec_file(parent.config, file_path):
        return SpecFile.from_parent(parent, path=file_path)
    return None


def _one_line(err, root) -> str:
    """A SpecError's line, with its path relative to the rootdir as in the node ids."""
    from .errors import SpecError

    path = Path(err.path)
    try:
        path = path.resolve().relative_to(Path(root).resolve())
    except (OSError, ValueError):
        pass
    return SpecError(path.as_posix(), err.line, err.where, err.message).one_line()


class CheckFailed(Exception):
    """An item's failure, already worded for people (shown without a traceback)."""


class SpecFile(pytest.File):
    """One spec file: loads it at collection, checks it once when its first item runs."""

    spec = None
    _report = None

    def collect(self):
        from .spec.units import units_of
        from .spec.loader import load_spec

        self.spec = load_spec(self.path)
        claims = list(self.spec.theorem_claims) + list(self.spec.instruction_claims)
        if claims:
            yield Group.from_parent(self, name="claim", kind="claim", names=claims)
        yield Group.from_parent(self, name="instr", kind="instr", names=[u.id for u in units_of(self.spec)])

    def repr_failure(self, excinfo):
        from .errors import SpecError

        if isinstance(excinfo.value, SpecError):  # a bad spec is one line, never a traceback
            return _one_line(excinfo.value, self.config.rootpath)
        return super().repr_failure(excinfo)

    def report(self):
        """The check of this spec, run once (per process) and kept on the node."""
        if self._report is None:
            from .context import context_of
            from .errors import VVerifyError

            try:
                # under xdist each worker is already a process per CPU: one solver process each
                jobs = 1 if os.environ.get("PYTEST_XDIST_WORKER") else None
                self._report = context_of(self.spec).report(_timeout_ms(self.config), use_cache=True, jobs=jobs)
            except VVerifyError as e:
                self._report = e
        if isinstance(self._report, Exception):
            raise CheckFailed(str(self._report))
        return self._report


def _timeout_ms(config) -> int:
    """The per-query timeout in ms, in the range `vverify check --timeout` takes (vverify.check.limits)."""
    from .check.limits import timeout_ms
    from .errors import UsageError

    seconds = config.getoption("vverify_timeout")
    where = "--vverify-timeout" if seconds is not None else "vverify_timeout"
    try:
        return timeout_ms(seconds if seconds is not None else config.getini("vverify_timeout"))
    except UsageError as e:
        raise pytest.UsageError(f"{where}: {e}") from None


def _allow_unknown(config) -> bool:
    opt = config.getoption("vverify_allow_unknown")
    return bool(opt) if opt is not None else bool(config.getini("vverify_allow_unknown"))


class Group(pytest.Collector):
    """``claim`` or ``instr``: a level of the node id, so ``file::claim::lpsw`` selects one item."""

    def __init__(self, *, kind, names, **kw):
        super().__init__(**kw)
        self.kind = kind
        self.names = names

    def collect(self):
        cls = ClaimItem if self.kind == "claim" else UnitItem
        for n in self.names:
            yield cls.from_parent(self, name=n)


class _SpecItem(pytest.Item):
    @property
    def spec_file(self) -> SpecFile:
        return self.parent.parent

    def _base(self):
        return self.config.rootpath

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        from .errors import SpecError

        if isinstance(excinfo.value, SpecError):
            return _one_line(excinfo.value, self.config.rootpath)
        return super().repr_failure(excinfo, style)


class ClaimItem(_SpecItem):
    """Passes when the claim holds: a definite derived verdict equal to the expected one."""

    def _claim_decl(self):
        spec = self.spec_file.spec
        return spec.theorem_claims.get(self.name) or spec.instruction_claims[self.name]

    def runtest(self):
        from .report.text import claim_failure_text

        r = self.spec_file.report()
        claim = next(c for c in r.claims if c.name == self.name)
        if claim.ok:
            return
        if claim.status == "undecided" and _allow_unknown(self.config):
            pytest.skip(f"undecided (solver timeout), allowed by vverify_allow_unknown: {claim.message}")
        raise CheckFailed(claim_failure_text(r, claim, self._base()))

    def reportinfo(self):
        c = self._claim_decl()
        return Path(c.path), max(c.line - 1, 0), f"{self.spec_file.spec.name}: claim {self.name}"


class UnitItem(_SpecItem):
    """Passes when every verdict of the unit is definite and every witness replays."""

    def runtest(self):
        from .report.text import unit_failure_text

        r = self.spec_file.report()
        unit = r.unit(self.name)
        text = unit_failure_text(r, unit, self._base())
        if not text:
            return
        if not unit.replay_errors and _allow_unknown(self.config):
            pytest.skip(f"undecided (solver timeout), allowed by vverify_allow_unknown: {self.name}")
        raise CheckFailed(text)

    def reportinfo(self):
        instr = self.spec_file.spec.instructions[self.name.partition(".")[0]]
        return Path(instr.path), max(instr.line - 1, 0), f"{self.spec_file.spec.name}: instruction {self.name}"
