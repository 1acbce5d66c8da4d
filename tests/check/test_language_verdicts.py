"""The classifier's verdicts on banked registers and excluded encodings.

tests/agreement/data/lang.toml states, as claims, what docs/theory.md says a
banked register means to a VMM: the guest's current copy is kept in the real
current copy, so reading or writing the banked name is innocuous; an
instruction that names a copy (``sp_usr``, ARM's LDM with ``^``) reaches the
moved copy when placed, so it is mode-sensitive and unsafe from a supervisor
mode.  The verdicts come from z3, each witness replayed on the interpreter;
a claim the solver does not derive fails the check.
"""

from __future__ import annotations

from tests.conftest import load
from vverify.check.run import check_spec


def test_the_language_specs_claims_are_derived():
    r = check_spec(load("lang"), use_cache=False, jobs=1)
    assert r.replay_errors == []
    assert r.decided, r.undecided
    assert [c.name for c in r.failed_claims] == []
    assert len(r.claims) == len(load("lang").instruction_claims) + 1
    assert set(r.theorems["theorem1"].violators) == {"ldmu", "spusr", "cps"}


def test_an_excluded_value_is_not_an_instance_of_the_instruction(tmp_path):
    """The word with an excluded value is another instruction's (or none's), so what the semantics
    would do with it is no behaviour of this one: here the only control-sensitive value."""
    from tests.conftest import spec_path
    from vverify.formal.classify import UnitClassifier
    from vverify.spec.loader import load_spec
    from vverify.spec.units import Unit

    (tmp_path / "pg74.toml").write_text(spec_path("pg74").read_text())
    answers = {}
    for exclude in ("", "exclude = { rd = 3 }\n"):
        p = tmp_path / "t.toml"
        p.write_text('[isa]\nname = "t"\nextends = "pg74.toml"\n\n[instructions.t]\nencoding = "1110 rd:2 a:10"\n'
                     f'{exclude}semantics = """\nif rd == 3:\n    l = r[0]\n"""\n')
        answers[bool(exclude)] = UnitClassifier(load_spec(p), Unit("t")).control("u").status
    assert answers == {False: "yes", True: "no"}
