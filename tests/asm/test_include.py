"""``.include``: the guest ABI's constants are written once (vverify/guests/abi.s) and read by every stub.

What it must do: splice the file's lines in, find it beside the including
file or in the include directories, name the included file and its line in
an error, and refuse what would loop, grow without bound or block.
"""

import os

import pytest

from tests.conftest import load
from vverify.asm import AsmError, assemble
from vverify.asm.assembler import MAX_INCLUDE_BYTES, MAX_INCLUDE_DEPTH


@pytest.fixture
def pg74():
    return load("pg74")


def _error(spec, text, **kw) -> AsmError:
    with pytest.raises(AsmError) as e:
        assemble(spec, text, **kw)
    assert "\n" not in str(e.value)
    return e.value


def test_an_included_constant_is_used_where_it_is_included(pg74, tmp_path):
    (tmp_path / "consts.s").write_text(".equ N, 5\n")
    main = tmp_path / "main.s"
    main.write_text('.include "consts.s"\n li r0, N\n')
    p = assemble(pg74, main.read_text(), file=str(main))
    assert p.constants["N"] == 5
    assert p.memory == assemble(pg74, "li r0, 5").memory


def test_the_include_directories_are_searched_after_the_including_files_folder(pg74, tmp_path):
    lib, here = tmp_path / "lib", tmp_path / "here"
    lib.mkdir(), here.mkdir()
    (lib / "c.s").write_text(".equ N, 1\n")
    assert assemble(pg74, '.include "c.s"\n', include_dirs=[lib]).constants["N"] == 1  # no file: the dirs only
    (here / "c.s").write_text(".equ N, 2\n")
    main = here / "m.s"
    main.write_text('.include "c.s"\n')
    assert assemble(pg74, main.read_text(), file=str(main), include_dirs=[lib]).constants["N"] == 2


def test_the_guest_library_stubs_include_the_abi_once(pg74):
    """Every bundled boot stub takes SYS_* and STATUS_* from the one abi.s, and none restates them."""
    from vverify.spec.bundled import bundled_dir

    import re

    def with_own_includes(path):
        """The stub's text and that of every file it includes from beside it (riscv32's stubs take the
        ABI through their shared layout.s)."""
        text = path.read_text()
        for name in re.findall(r'\.include\s+"([^"]+)"', text):
            if (path.parent / name).is_file():
                text += with_own_includes(path.parent / name)
        return text

    stubs = sorted(bundled_dir().rglob("boot*.s"))
    assert stubs
    for stub in stubs:
        text = with_own_includes(stub)
        assert text.count('.include "abi.s"') == 1, stub
        assert ".equ SYS_" not in text and ".equ STATUS_" not in text, stub


def test_an_error_in_an_included_file_names_that_file_and_its_line(pg74, tmp_path):
    (tmp_path / "bad.s").write_text("\n\n li r0, 1000\n")
    main = tmp_path / "main.s"
    main.write_text('li r0, 1\n.include "bad.s"\n')
    e = _error(pg74, main.read_text(), file=str(main))
    assert (e.file, e.line) == (str(tmp_path / "bad.s"), 3)
    assert "does not fit" in str(e)


@pytest.mark.parametrize("case", ["missing", "itself", "cycle", "deep", "directory", "fifo", "binary", "large", "usage"])
def test_what_include_refuses(pg74, tmp_path, case):
    main = tmp_path / "main.s"
    target = tmp_path / "t.s"
    text = '.include "t.s"\n'
    if case == "itself":
        text = '.include "main.s"\n'
    elif case == "cycle":
        target.write_text('.include "u.s"\n')
        (tmp_path / "u.s").write_text('.include "t.s"\n')
    elif case == "deep":
        for k in range(MAX_INCLUDE_DEPTH + 1):
            (tmp_path / f"d{k}.s").write_text(f'.include "d{k + 1}.s"\n')
        (tmp_path / f"d{MAX_INCLUDE_DEPTH + 1}.s").write_text("li r0, 1\n")
        text = '.include "d0.s"\n'
    elif case == "directory":
        target.mkdir()
    elif case == "fifo":
        os.mkfifo(target)  # reading it would block: it must be refused without opening it for a read that waits
    elif case == "binary":
        target.write_bytes(b"\xff\xfe li r0, 1\n")
    elif case == "large":
        target.write_bytes(b"; " + b"x" * MAX_INCLUDE_BYTES + b"\n")
    elif case == "usage":
        text = ".include t.s\n"
    main.write_text(text)
    e = _error(pg74, text, file=str(main))
    says = {"missing": "no file 't.s'", "itself": "includes itself", "cycle": "includes itself",
            "deep": f"nests more than {MAX_INCLUDE_DEPTH} deep", "directory": "is not a regular file",
            "fifo": "is not a regular file", "binary": "is not UTF-8 text", "large": f"larger than {MAX_INCLUDE_BYTES}",
            "usage": 'usage: .include "FILE"'}[case]
    assert says in str(e), str(e)
