"""A small TOML writer for the hostile-input campaign (the stdlib reads TOML but cannot write it).

It writes what :func:`tomllib.loads` gives back (tables, arrays, strings,
integers of any size, floats, booleans) so that ``tomllib.loads(dumps(d)) ==
d`` (tests/hostile/test_spec_campaign.py checks this on every bundled spec),
and one thing tomllib never gives: :class:`Raw`, text written verbatim, for
values no Python object can carry into TOML as hostile as we want them (an
integer literal of 5,000 digits, which Python refuses to print, or an
invalid escape).
"""

from __future__ import annotations

import math
import re

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


class Raw(str):
    """TOML text written as it is, where a value goes."""


def _escape(s: str, keep_newlines: bool = False) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if keep_newlines and ch == "\n":
            out.append(ch)
        elif ch in _SHORT:
            out.append(_SHORT[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:  # TOML has no way to write a lone surrogate
            out.append("\\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def string(s: str, multiline: bool = False) -> str:
    if multiline and "\n" in s:
        # a newline right after the opening quotes is not part of the string
        return '"""\n' + _escape(s, keep_newlines=True) + '"""'
    return '"' + _escape(s) + '"'


def key(k: str) -> str:
    return k if _BARE.fullmatch(k) else string(k)


def value(v, multiline: bool = False) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)  # callers keep ints printable; a longer literal is a Raw
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return string(v, multiline)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if hasattr(v, "isoformat"):  # tomllib's dates and times
        return v.isoformat()
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def dumps(data: dict, multiline: bool = False) -> str:
    """``data`` as a TOML document: each nested table under its own ``[header]``.

    ``multiline`` writes strings that hold newlines as multi-line basic
    strings (as the bundled specs write semantics), else on one line with
    ``\\n`` escapes; both are valid TOML and the loader places errors in each.
    """
    lines: list = []

    def table(path: tuple, d: dict):
        scalars = [(k, v) for k, v in d.items() if not (isinstance(v, dict) and not isinstance(v, Raw))]
        tables = [(k, v) for k, v in d.items() if isinstance(v, dict) and not isinstance(v, Raw)]
        if path and (scalars or not tables):
            lines.append("")
            lines.append("[" + ".".join(key(p) for p in path) + "]")
        for k, v in scalars:
            lines.append(f"{key(k)} = {value(v, multiline)}")
        for k, v in tables:
            table(path + (k,), v)

    table((), data)
    return "\n".join(lines).lstrip("\n") + "\n"
