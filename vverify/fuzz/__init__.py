"""Fuzzing: guest programs from the spec, run natively and under each VMM.

What the fuzzer finds must agree with what the classifier predicts: see
:mod:`vverify.fuzz.matrix`.
"""

from .equivalence import Comparison, culprit, run_pair
from .programs import FuzzProgram, flagged_weights, fuzz_programs
from .search import Counterexample, SearchResult, search

__all__ = ["Comparison", "Counterexample", "FuzzProgram", "SearchResult", "culprit", "flagged_weights",
           "fuzz_programs", "run_pair", "search"]
