"""The reference interpreter: evaluates the semantics IR directly.

Slow and obviously right.  It is the yardstick the z3 model and the
emulation core are compared with, and the machine that replays every
witness the solver produces.  It knows nothing of z3 or numba.
"""

from .machine import Exit, MachineState, Outcome, Step, decode, eval_pure, initial_state, run, step, step_once, take_trap

__all__ = ["Exit", "MachineState", "Outcome", "decode", "eval_pure", "initial_state", "run", "step", "step_once", "take_trap", "Step"]
