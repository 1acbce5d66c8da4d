"""The broken-spec corpus: every file under ``broken/`` must fail to load, precisely.

Each corpus file is a small complete spec with one thing broken.  Its first
line says what the loader must report::

    # expect: line=<N> where=<text or -> message=<substring>

The test loads the file and checks that it raises :class:`SpecError` with
exactly that line and ``where`` (``-`` for none), a message containing the
substring, and a one-line text ``path:line: where: message``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vverify.errors import SpecError
from vverify.spec.loader import load_spec

BROKEN = Path(__file__).resolve().parent / "broken"
CORPUS = sorted(BROKEN.glob("*.toml"))
_HEADER = re.compile(r"^# expect: line=(\d+) where=(.*?) message=(.+)$")


def _expectation(path: Path):
    first = path.read_bytes().decode("utf-8").split("\n", 1)[0]
    m = _HEADER.match(first)
    assert m, f"{path.name}: first line is not '# expect: line=N where=... message=...': {first!r}"
    line, where, message = int(m.group(1)), m.group(2), m.group(3)
    return line, ("" if where == "-" else where), message


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 25


def test_corpus_names_are_unique_and_numbered():
    numbers = [p.name.split("_", 1)[0] for p in CORPUS]
    assert all(n.isdigit() for n in numbers)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_spec_is_reported(path):
    line, where, message = _expectation(path)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    text = str(err)
    assert len(text.splitlines()) == 1 and "\n" not in text and "\r" not in text, repr(text)
    assert text.startswith(str(path)), text
    assert Path(err.path) == path, text
    assert err.line == line, f"expected line {line}, got: {text}"
    assert err.where == where, f"expected where {where!r}, got: {text}"
    assert message in err.message, f"expected message containing {message!r}, got: {text}"
    expected_where = f" {where}:" if where else ""
    assert text == f"{path}:{line}:{expected_where} {err.message}"


# ---------------------------------------------------------------- never executed

_BASE = BROKEN / "31_open_call.toml"  # without its open(...) line, a valid spec
_OPEN_LINE = "open('/tmp/vverify-pwned', 'w')\n"


def _valid_base() -> str:
    text = _BASE.read_text(encoding="utf-8").split("\n", 1)[1]
    assert text.count(_OPEN_LINE) == 1
    return text.replace(_OPEN_LINE, "")


def _spec_with(tmp_path: Path, old: str, new: str) -> Path:
    text = _valid_base()
    assert text.count(old) == 1, old
    p = tmp_path / "spec.toml"
    p.write_text(text.replace(old, new), encoding="utf-8")
    return p


def test_base_of_payload_specs_loads(tmp_path):
    p = tmp_path / "spec.toml"
    p.write_text(_valid_base(), encoding="utf-8")
    assert "getr" in load_spec(p).instructions


_PAYLOADS = {
    # place: (text of the valid base spec, replacement that plants {payload} there)
    "instruction": ("r[rd] = l\n", "{payload}\nr[rd] = l\n"),
    "nested-if": ("r[rd] = l\n", "if l == 0:\n    {payload}\nr[rd] = l\n"),
    "helper": ("def read(a: 16) -> 16:\n", "def read(a: 16) -> 16:\n    {payload}\n"),
    "trap-entry": ("store(1, 1, pc)\n", "store(1, 1, pc)\n{payload}\n"),
    "virtualization": ('l = "l + x"', 'l = "l + {payload}"'),
    "annotation": ("def read(a: 16) -> 16:", "def read(a: 16) -> {payload}:"),
    "default-argument": ("def read(a: 16) -> 16:", "def read(a: 16 = {payload}) -> 16:"),
}
_FORMS = {
    "open": "open('{f}', 'w')",
    "dunder-import": "__import__('os').system('touch {f}')",
    "eval": "eval(\"open('{f}', 'w')\")",
    "exec": "exec(\"open('{f}', 'w')\")",
    "class-walk": "().__class__.__base__.__subclasses__()",
    "builtins-open": "__builtins__.open('{f}', 'w')",
}


@pytest.mark.parametrize("form", sorted(_FORMS))
@pytest.mark.parametrize("place", sorted(_PAYLOADS))
def test_spec_text_is_never_executed(tmp_path, place, form):
    target = tmp_path / "vverify-pwned"
    payload = _FORMS[form].format(f=target)
    if place == "virtualization":
        payload = payload.replace('"', '\\"')  # inside a one-line TOML string
    old, new = _PAYLOADS[place]
    spec = _spec_with(tmp_path, old, new.format(payload=payload))
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert not target.exists(), f"loading {place} {form} ran spec text"
    assert len(str(info.value).splitlines()) == 1
    assert info.value.line > 0


def test_fixed_pwned_path_is_not_created():
    """The corpus file itself names /tmp/vverify-pwned: loading it must not create the file."""
    pwned = Path("/tmp/vverify-pwned")
    existed = pwned.exists()
    with pytest.raises(SpecError):
        load_spec(BROKEN / "31_open_call.toml")
    assert existed or not pwned.exists()


@pytest.mark.parametrize("path", sorted((Path(__file__).parent / "broken").glob("*.toml")), ids=lambda p: p.stem)
def test_cli_gives_one_line_and_exit_2(path, capsys):
    """Through the command line: one line on stderr, exit code 2, no traceback."""
    from vverify.cli.main import main

    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"vverify: {path}"), err
