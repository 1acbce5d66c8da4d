"""Messages the command line prints about problems: one line each, whatever they quote.

An error names a path, a spec, an instruction or an argument as the user
wrote it, and those may hold a newline, a NUL or a terminal escape.  Printed
raw, one error becomes two lines (a CI log or a script reading stderr line
by line sees half an error and a stray line), or drives the terminal.  So
every such message goes through :func:`one_line` (``vverify.errors.printable``,
the same escaping ``SpecError`` uses), which shows those characters as the
escapes Python's ``repr`` uses and leaves everything else, backslashes
included, as it was: text that is already safe comes out unchanged.
"""

from __future__ import annotations

import sys

from ..errors import printable as one_line


def print_error(message, stream=None) -> None:
    """Print ``vverify: message`` on one line (to stderr unless ``stream`` is given)."""
    print(f"vverify: {one_line(message)}", file=stream or sys.stderr)


__all__ = ["one_line", "print_error"]
