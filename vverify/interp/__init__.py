"""The reference interpreter: evaluates the semantics IR directly.

Slow and obviously right.  It is the yardstick the z3 model and the
emulation core are compared with, and the machine that replays every
witness the solver produces.  It knows nothing of z3 or numba.
"""

from ..spec.decode import decode
from ..spec.exits import Exit
from ..spec.state import MachineState, initial_state
from .machine import (LeaveGuest, Outcome, Step, Trap, advance_time, boundary, eval_pure, fetch, mmu_view, run, step,
                      step_once, take_trap)

__all__ = ["Exit", "LeaveGuest", "MachineState", "Outcome", "Step", "Trap", "advance_time", "boundary", "decode",
           "eval_pure", "fetch", "initial_state", "mmu_view", "run", "step", "step_once", "take_trap"]
