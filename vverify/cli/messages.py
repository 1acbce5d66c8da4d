"""Messages the command line prints about problems: one line each, whatever they quote.

An error names a path, a spec, an instruction or an argument as the user
wrote it, and those may hold a newline, a NUL or a terminal escape.  Printed
raw, one error becomes two lines (a CI log or a script reading stderr line
by line sees half an error and a stray line), or drives the terminal.  So
every such message goes through :func:`one_line`, which shows those
characters as the escapes Python's ``repr`` uses and leaves everything else,
backslashes included, as it was: text that is already safe (a
``SpecError.one_line()``, say) comes out unchanged.
"""

from __future__ import annotations

import sys
import unicodedata

# control characters, line and paragraph separators, lone surrogates (from undecodable file names)
_UNSAFE = frozenset(("Cc", "Zl", "Zp", "Cs"))


def _escape(ch: str) -> str:
    return repr(ch)[1:-1] if unicodedata.category(ch) in _UNSAFE else ch


def one_line(text) -> str:
    """``text`` as a single printable line: control characters and line breaks escaped (``\\n``, ``\\x00``)."""
    text = str(text)
    if text.isprintable():  # the common case, and it holds no character we escape
        return text
    return "".join(_escape(ch) for ch in text)


def print_error(message, stream=None) -> None:
    """Print ``vverify: message`` on one line (to stderr unless ``stream`` is given)."""
    print(f"vverify: {one_line(message)}", file=stream or sys.stderr)


__all__ = ["one_line", "print_error"]
