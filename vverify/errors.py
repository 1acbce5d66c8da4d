"""Errors that name a place in a spec.

Every problem with user input becomes one of these, so the faces (CLI and
pytest plugin) can print a single line and exit 2 instead of a traceback.
"""

from __future__ import annotations


def printable(text) -> str:
    """``text`` with every character that is not printable (newlines, tabs, escapes,
    line and paragraph separators, bidirectional controls...) written as a Python
    escape (``\\n``, ``\\x1b``, ``\\u2028``), so that it prints as one line."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
        self.where = printable(where) if where else ""
        self.message = printable(str(message).strip())
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``path:line: where: message``, always exactly one line of printable text.

        A spec's names and a file's path come from the user and may hold a
        newline or a terminal escape: they are shown as Python escapes, so a
        CI log line cannot be split in two or forged.
        """
        path = printable(self.path)
        loc = f"{path}:{self.line}" if self.line else path
        where = f" {printable(self.where)}:" if self.where else ""
        return f"{loc}:{where} {printable(self.message)}"


class UsageError(VVerifyError):
    """A bad command-line argument or API call."""
