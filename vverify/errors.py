"""Errors that name a place in a spec.

Every problem with user input becomes one of these, so the faces (CLI and
pytest plugin) can print a single line and exit 2 instead of a traceback.
"""

from __future__ import annotations


class VVerifyError(Exception):
    """Base class for every error vverify reports to its user."""


class SpecError(VVerifyError):
    """A problem in a spec file: ``path:line: where: message``.

    ``where`` names the part of the spec (``instruction 'lpsw'``, ``state``,
    ``helper 'phys'``...); ``line`` is a 1-based line in ``path`` (0 when no
    line can be given).
    """

    def __init__(self, path, line: int, where: str, message: str):
        self.path = str(path)
        self.line = int(line or 0)
        self.where = where
        self.message = " ".join(str(message).split())
        super().__init__(self.one_line())

    def one_line(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line else self.path
        where = f" {self.where}:" if self.where else ""
        return f"{loc}:{where} {self.message}"


class UsageError(VVerifyError):
    """A bad command-line argument or API call."""
