"""The core holds every value in 64 bits: a spec that needs more is refused, never truncated.

The generated code computes on numpy.uint64 and assembles the instruction
word in one.  Each spec below loads and runs on the reference interpreter,
which computes on Python ints, but would lose bits in the core (an 80-bit
encoding kept only its low 64 bits, so its top field read as 0 where the
interpreter read 0xbeef).  The core must say so at construction, naming
where the wide value is, instead of running and disagreeing.
"""

from pathlib import Path

import pytest

from tests.core.tinyspec import run_both, state_with, tiny_spec, words_of
from vverify.core import Core, CoreUnsupported
from vverify.errors import VVerifyError

ZEROS48 = "0" * 48

# (spec keywords, words of the program or None for the encoded instruction, what the refusal names)
WIDE = {
    "80-bit encoding": (dict(encoding=f"a:16 {ZEROS48} 1111 rd:2 0000000000", semantics="r[rd] = a"),
                        "instruction 't' is 80 bits long"),
    "101-bit operand": (dict(encoding="1111 rd:2 a[100|8:0]", semantics="r[rd] = a[100:85]"),
                        "operand 'a' is 101 bits"),
    "128-bit local": (dict(semantics="t: 128 = zext(r[rd], 128) << 56\nr[rd] = t[79:64]"),
                      "instruction 't' computes a 128-bit value"),
    "80-bit load": (dict(semantics="t = load(0, 5)\nr[rd] = t[79:64]"), "instruction 't' computes a 80-bit value"),
    "80-bit store": (dict(semantics="store(8, 5, zext(r[rd], 80) << 64)"), "instruction 't' computes a 80-bit value"),
    "80-bit trap value": (dict(tval=80, semantics="trap(svc, zext(r[rd], 80) << 64)"), "trap values of 80 bits"),
    "80-bit trap code": (dict(code=80, svc=2**70, semantics="trap(svc)"), "trap codes of 80 bits"),
    "80-bit helper value": (dict(helpers="def wide(x: 16) -> 80:\n    return zext(x, 80) << 60",
                                 semantics="r[rd] = wide(r[rd])[79:64]"),
                            "instruction 't' computes a 80-bit value"),
}


@pytest.mark.parametrize("case", WIDE)
def test_a_value_wider_than_64_bits_is_refused_by_name(tmp_path, case):
    kw, names = WIDE[case]
    spec = tiny_spec(tmp_path, **kw)
    instr = spec.instructions["t"]
    word = instr.encoding.encode({op: 0xBEEF & ((1 << w) - 1) for op, w in instr.operands.items()})
    state = state_with(spec, words_of(word, instr.units, spec.memory.unit), files=[0xBEEF, 0x1234, 2, 3])
    for jit in (False, True):
        with pytest.raises(CoreUnsupported) as e:
            run_both(spec, state, trap_exits={"svc"}, jit=jit)
        message = str(e.value)
        assert names in message and "spec 'tiny'" in message and "\n" not in message
    assert isinstance(e.value, VVerifyError)  # the CLI prints it as one line and exits 2


@pytest.mark.parametrize("jit", [False, True], ids=["python", "numba"])
def test_a_64_bit_instruction_still_runs_and_agrees(tmp_path, jit):
    """The limit is exact: four 16-bit units, a field in the top one, run by both builds.

    Not a regression test (the old core ran this too): it keeps the refusal
    from growing past what the core really cannot hold.
    """
    spec = tiny_spec(tmp_path, encoding="a:16 " + "0" * 32 + " 1111 rd:2 0000000000", semantics="r[rd] = a")
    instr = spec.instructions["t"]
    word = instr.encoding.encode({"a": 0xBEEF, "rd": 2})
    state = state_with(spec, words_of(word, instr.units, 16))
    (want, want_exit), (got, got_exit) = run_both(spec, state, jit=jit)
    assert got.files["r"][2] == want.files["r"][2] == 0xBEEF
    assert (got_exit.reason, got_exit.steps) == (want_exit.reason, want_exit.steps)
    assert got.regs == want.regs


def test_the_refusal_comes_before_any_code_is_generated(tmp_path, monkeypatch):
    """Refusing is cheap: the spec's semantics are never turned into source."""
    from vverify.core import codegen

    spec = tiny_spec(tmp_path, **WIDE["80-bit encoding"][0])
    monkeypatch.setattr(codegen, "generate", lambda *a, **k: pytest.fail("generated a core it must refuse"))
    with pytest.raises(CoreUnsupported):
        Core(spec, jit=False)


def test_a_memory_larger_than_the_core_holds_is_refused_by_name(tmp_path):
    """The other half of what the core cannot run (issue 13, item 13): more than 2**24 memory units.

    The spec loads and the interpreter runs it; the core says so in one line
    at construction, in both builds, instead of allocating gigabytes.
    """
    from vverify.core.codegen import MAX_MEMORY_UNITS
    from vverify.spec.loader import load_spec

    text = Path(tiny_spec(tmp_path).path).read_text()
    assert "address = 16" in text
    path = tmp_path / "big.toml"
    path.write_text(text.replace("address = 16", "address = 25", 1))
    spec = load_spec(path)
    assert spec.memory.size == 2 ** 25 > MAX_MEMORY_UNITS
    for jit in (False, True):
        with pytest.raises(CoreUnsupported) as e:
            Core(spec, jit=jit)
        message = str(e.value)
        assert f"memory of {2 ** 25} units is larger than the core's {MAX_MEMORY_UNITS}" in message
        assert "spec 'tiny'" in message and "\n" not in message
