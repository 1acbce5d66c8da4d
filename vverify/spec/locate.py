"""Find the line of a key in TOML text.

:mod:`tomllib` returns plain dicts with no positions, but every error we
report must name a line.  This scanner walks the text once, tracking table
headers, dotted keys, inline tables and multi-line strings, and records the
line of every key path.  It is a locator, not a parser: the text has already
been parsed by :mod:`tomllib`, so it only has to be right on valid TOML.
"""

from __future__ import annotations

import re
import tomllib

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\'))*)\s*=\s*(.*)$')
_INLINE_KEY = re.compile(r'(?:^|[{,])\s*((?:[A-Za-z0-9_-]+|"[^"]*"))\s*=')


def _split_key(key: str) -> tuple:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+', key)
    return tuple(_unquote(p) if p[:1] == '"' else p[1:-1] if p[:1] == "'" else p for p in parts)


def _unquote(key: str) -> str:
    """A basic-string key with its escapes (``"a\\nb"``) decoded, as tomllib stores it."""
    if "\\" not in key:
        return key[1:-1]
    try:
        return tomllib.loads(f"k = {key}")["k"]
    except tomllib.TOMLDecodeError:
        return key[1:-1]


class Locator:
    """Maps key paths (tuples of strings) to 1-based line numbers."""

    def __init__(self, text: str):
        self.lines: dict = {}
        self.value_lines: dict = {}  # path -> line where a multi-line string's content starts
        self.value_ends: dict = {}  # path -> line where a multi-line string closes
        self.unclosed = 0  # line of a multi-line string that never closes (only in invalid TOML)
        self._scan(text)

    def _scan(self, text: str):
        table: tuple = ()
        arrays: dict = {}
        lines = text.split("\n")  # TOML lines end at \n only (not at \u2028, \x85, ...)
        i = 0
        while i < len(lines):
            raw = lines[i]
            lineno = i + 1
            i += 1
            m = _HEADER.match(raw)
            if m and not _KEY.match(raw):
                path = _split_key(m.group(2))
                if m.group(1) == "[[":
                    n = arrays.get(path, -1) + 1
                    arrays[path] = n
                    path = path + (n,)
                table = path
                for k in range(1, len(table) + 1):  # [a.b] also opens table a, if nothing did before
                    self.lines.setdefault(table[:k], lineno)
                continue
            m = _KEY.match(raw)
            if not m:
                continue
            path = table + _split_key(m.group(1))
            for k in range(len(table) + 1, len(path) + 1):  # a.b = 1 also opens a
                self.lines.setdefault(path[:k], lineno)
            rest = m.group(2)
            for delim in ('"""', "'''"):
                if rest.startswith(delim):
                    after = rest[3:]
                    # only a newline right after the delimiter is trimmed, not spaces before it
                    self.value_lines[path] = lineno + 1 if after.rstrip("\r") == "" else lineno
                    self.value_ends[path] = lineno
                    if delim in after:
                        break
                    while i < len(lines):
                        i += 1
                        if delim in lines[i - 1]:
                            self.value_ends[path] = i
                            break
                    else:
                        self.unclosed = self.unclosed or lineno
                    break
            else:
                if rest.startswith("{"):
                    for km in _INLINE_KEY.finditer(rest):
                        self.lines.setdefault(path + _split_key(km.group(1)), lineno)

    def line(self, path) -> int:
        """Line of ``path`` or of its nearest located ancestor (0 if none)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 0

    def text_line(self, path) -> int:
        """Line where the string value at ``path`` begins its content."""
        path = tuple(path)
        return self.value_lines.get(path) or self.line(path)

    def text_span(self, path) -> tuple:
        """(first, last) line of the string value at ``path``; both the key's line for a one-line string."""
        path = tuple(path)
        if path in self.value_lines:
            return self.value_lines[path], self.value_ends[path]
        line = self.line(path)
        return line, line
