"""The emulation core: a compiled run loop over numpy arrays, and its exit protocol.

A :class:`Core` holds one machine's state in arrays and runs guest code with
:meth:`Core.run` until an exit, the way ``ioctl(KVM_RUN)`` does.  The caller
(a VMM, a test, a benchmark) inspects and changes state between runs.  See
``docs/core.md`` for the protocol.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import VVerifyError
from ..spec.ir import mask
from . import codegen
from .codegen import REASONS, ST_BUDGET, ST_CAUSE, ST_STEPS, ST_TOTAL, ST_TRAP_EXITS, ST_TVAL
from .jit import jit_enabled


@dataclass(frozen=True)
class CoreExit:
    """Why :meth:`Core.run` returned.

    ``reason`` is ``budget``, ``halt``, ``trap`` (``cause`` and ``tval`` set; the
    state is as it was at the faulting instruction, before any trap entry),
    ``illegal`` (``tval`` is the undecodable word; pc points at it) or
    ``double_fault`` (the trap entry itself faulted), ``hypercall`` /
    ``vmexit`` (``tval`` is the number or reason; the state is as before the
    instruction and pc points at it), or ``patch`` (a store made the code
    cache forget a :meth:`Core.predecode` patch; pc points at it).  ``steps`` counts the instructions
    completed by this call.
    """

    reason: str
    cause: str | None = None
    tval: int = 0
    steps: int = 0


class GuestMemoryError(VVerifyError):
    """A host-side access to guest memory outside the machine's memory."""


_modules: dict = {}


def _core_dir() -> Path:
    """Where generated cores and numba's compiled code live (``$VVERIFY_CORE_CACHE_DIR``)."""
    env = os.environ.get("VVERIFY_CORE_CACHE_DIR")
    if env:
        return Path(env)
    from ..check.cache import cache_dir

    return cache_dir() / "core"


def load_module(spec, jit: bool | None = None):
    """Generate (or reuse) and import the core module for ``spec``.

    The source is written to the cache directory under a name derived from
    the source itself and vverify's source digest, so numba's on-disk cache
    (``cache=True``) lets a warm process skip compilation, and specs with the
    same machine share one module.

    Whatever goes wrong turning a spec that loaded into a running core (a
    source Python will not compile, a recursion, a numba typing error) is
    :class:`CoreUnsupported`, one line naming the spec and, when the error
    points into the source, the instruction: never a traceback.  The run
    loop itself is compiled here, not on its first call, for that reason.
    """
    jit = jit_enabled() if jit is None else jit
    if (spec.digest, jit) in _modules:
        return _modules[spec.digest, jit]
    try:
        source = codegen.generate(spec, jit)
    except (codegen.CoreUnsupported, OSError):
        raise
    except Exception as e:  # noqa: BLE001 - any failure to generate is the spec's, reported as such
        raise codegen.refused(spec, f"generating its core failed ({_first_line(e)})") from e
    key = (codegen.source_key(source), jit)
    if key in _modules:
        _modules[spec.digest, jit] = _modules[key]
        return _modules[key]
    d = _core_dir()
    d.mkdir(parents=True, exist_ok=True)
    name = f"vverify_core_{key[0]}{'' if jit else '_py'}"
    path = d / f"{name}.py"
    if not path.exists():
        from ..check.cache import write_atomic

        write_atomic(path, source)
    try:
        module = _import_and_compile(spec, name, path, jit)
    except (codegen.CoreUnsupported, OSError):
        raise
    except Exception as e:  # noqa: BLE001 - SyntaxError, RecursionError, numba's errors...
        sys.modules.pop(name, None)
        where = codegen.where_in(source, _error_line(e, path)) or "its core"
        raise codegen.refused(spec, f"compiling {where} failed ({_first_line(e)})") from e
    _modules[key] = _modules[spec.digest, jit] = module
    return module


def _import_and_compile(spec, name: str, path: Path, jit: bool):
    mspec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(mspec)
    sys.modules[name] = module
    mspec.loader.exec_module(module)
    if jit and not any((path.parent / "__pycache__").glob(f"{name}.run-*.nbi")):
        from .precompile import compile_in_parallel, signature  # cold cache: use both cores

        dtype = codegen.mem_dtype(spec.memory.unit)
        compile_in_parallel(module, path, dtype)
        module.run.compile(signature(module, "run", dtype))  # now, so that a failure is the constructor's
    return module


def _first_line(e: BaseException) -> str:
    """``Kind: first line of the message``, short enough for a one-line error."""
    message = e.msg if isinstance(e, SyntaxError) and e.msg else str(e)  # a SyntaxError's str adds its file
    text = next((line.strip() for line in message.splitlines() if line.strip()), "")
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _error_line(e: BaseException, path: Path) -> int:
    """The line of the generated module an error points at (0 if none): a SyntaxError's own,
    or the last ``File "<module>", line N`` numba quotes in its message."""
    if isinstance(e, SyntaxError) and e.lineno:
        return e.lineno
    lines = re.findall(r'File "([^"]+)", line (\d+)', str(e))
    mine = [int(n) for f, n in lines if Path(f).name == path.name]
    return mine[-1] if mine else 0


class Core:
    """One machine: state arrays plus the compiled run loop of its spec."""

    def __init__(self, spec, jit: bool | None = None):
        self.spec = spec
        self.layout = codegen.Layout(spec)
        self.jit = jit_enabled() if jit is None else jit
        self.module = load_module(spec, self.jit)
        # the generated loop and trap entry, as this build calls them
        self._run = self.module.run if self.jit else _quietly(self.module.run)
        self._trap_entry = self.module.trap_entry if self.jit else _quietly(self.module.trap_entry)
        m = spec.memory
        lay = self.layout
        # one uint64 array for registers, files, status and cause codes: every array
        # argument costs ~75 ns per call into the compiled loop
        self.R = np.zeros(lay.size, dtype=np.uint64)
        for name, r in spec.registers.items():
            self.R[lay.reg_index[name]] = r.reset
        self.F = {}
        for name, f in spec.files.items():
            base = lay.file_offset[name]
            self.F[name] = self.R[base:base + (1 << f.index_width)]  # a view: writes go to R
            for i, v in f.hardwired.items():
                self.F[name][i] = v
        self.ST = self.R[lay.st_base:lay.st_base + codegen.ST_SIZE]
        causes = sorted(spec.causes.values(), key=lambda c: c.index)
        self.R[lay.cc_base:lay.cc_base + len(causes)] = [c.code for c in causes]
        self.MEM = np.zeros(m.size, dtype=np.dtype(codegen.mem_dtype(m.unit)))
        self.DECF = np.zeros(lay.decf_size, dtype=np.uint64)
        self.PATCHED = self.DECF[lay.patch_base:]  # a view: nonzero where predecode() patched (see Layout)
        self._cause_names = [c.name for c in causes]
        self._budget = self._mask = None

    # ------------------------------------------------------------ running

    def run(self, budget: int, trap_exits=()) -> CoreExit:
        """Run at most ``budget`` instructions; traps in ``trap_exits`` (or "all") return to the caller."""
        reason = self.run_raw(budget, self.trap_mask(trap_exits))
        reason = REASONS[int(reason)]
        st = self.ST
        steps = int(st[ST_STEPS])
        if reason == "trap":
            return CoreExit("trap", self._cause_names[int(st[ST_CAUSE])], int(st[ST_TVAL]), steps)
        if reason in ("illegal", "hypercall", "vmexit"):
            return CoreExit(reason, None, int(st[ST_TVAL]), steps)
        return CoreExit(reason, None, 0, steps)

    def run_raw(self, budget: int, trap_mask: int) -> int:
        """The run loop with no Python wrapping: returns the reason code (for a VMM's hot loop)."""
        if budget != self._budget:
            self.ST[ST_BUDGET] = self._budget = budget
        if trap_mask != self._mask:
            self.ST[ST_TRAP_EXITS] = self._mask = trap_mask
        return self._run(self.R, self.MEM, self.DECF)

    def run_context(self, context: np.ndarray) -> int:
        """The run loop over another register array laid out as ``R`` (its status slots
        included), on this machine's memory and code cache; returns the reason code.

        A VMM's interpreter routines run a guest's view this way
        (vverify.vmm.emulation): the same compiled semantics, other registers.
        """
        return self._run(context, self.MEM, self.DECF)

    def enter_trap(self, context: np.ndarray, pc, cause_code, tval):
        """The spec's trap entry on register array ``context`` (see :meth:`run_context`);
        returns ``(next pc, False if the entry itself faulted)``."""
        return self._trap_entry(context, self.MEM, self.DECF, pc, cause_code, tval)

    def save_context(self) -> np.ndarray:
        """A copy of the registers and register files: what a VMM saves when it switches guests.

        Only those: the status slots after them in R (budget, exit reason, step
        counts) belong to the run loop, which caches what it last wrote there.
        """
        return self.R[:self.layout.st_base].copy()

    def load_context(self, context: np.ndarray) -> None:
        """Make a context from :meth:`save_context` the machine's registers and files."""
        self.R[:self.layout.st_base] = context

    def trap_mask(self, causes) -> int:
        if causes == "all":
            return (1 << len(self._cause_names)) - 1
        out = 0
        for c in causes:
            out |= 1 << self.spec.causes[c].index
        return out

    @property
    def instructions_executed(self) -> int:
        return int(self.ST[ST_TOTAL])

    # ------------------------------------------------------------ state

    def reg(self, name) -> int:
        return int(self.R[self.layout.reg_index[name]])

    def set_reg(self, name, value: int):
        r = self.spec.registers[name]
        self.R[self.layout.reg_index[name]] = value & mask(r.width)

    def write_memory(self, addr: int, values):
        """Copy ``values`` (memory units) into guest memory at ``addr``, bounds-checked."""
        values = np.asarray(values, dtype=np.uint64)
        m = self.spec.memory
        if addr < 0 or addr + len(values) > m.size:
            raise GuestMemoryError(f"writing {len(values)} units at {addr:#x} runs off the {m.size}-unit memory")
        self.MEM[addr:addr + len(values)] = values & np.uint64(mask(m.unit))
        self.flush_code_cache()

    def read_memory(self, addr: int, n: int) -> np.ndarray:
        m = self.spec.memory
        if addr < 0 or addr + n > m.size:
            raise GuestMemoryError(f"reading {n} units at {addr:#x} runs off the {m.size}-unit memory")
        return self.MEM[addr:addr + n].copy()

    def predecode(self, addr: int, word: int):
        """Make the instruction at ``addr`` run as ``word`` without changing memory.

        The machine's code cache is its instruction stream: this patches what
        runs, not what the guest reads as data (a paravirtualizing loader
        uses it).  The cache forgets the patch whenever a store may overlap
        the instruction, and then, instead of decoding the guest's own
        instruction in its place, the run loop exits with ``patch``, pc at
        the instruction: the patcher decides whether the store really
        changed it (:meth:`unpatch`) or only came near (patch it again).
        """
        m = self.spec.memory
        if not 0 <= addr < m.size:
            raise GuestMemoryError(f"pre-decoding at {addr:#x}, outside the {m.size}-unit memory")
        row = addr << self.layout.row_shift
        self.DECF[row] = self.module.decode(np.uint64(word), self.DECF, np.uint64(row))
        self.PATCHED[addr] = 1

    def unpatch(self, addr: int):
        """Undo :meth:`predecode` at ``addr``: the instruction in memory runs there again."""
        self.DECF[addr << self.layout.row_shift] = 0
        self.PATCHED[addr] = 0

    def flush_code_cache(self):
        self.DECF[:self.layout.patch_base:self.layout.row_width] = 0
        self.PATCHED[:] = 0

    def load_image(self, image: np.ndarray):
        """Make memory equal ``image`` (one element per unit), forgetting only what that changes.

        Pre-decoded instructions stay wherever none of their units changed,
        since decoding is a function of the units alone, so loading a guest
        that shares most of its memory with the last one (the same boot
        code, as every fuzzed program has) costs a comparison, not a flush
        of the whole cache.  That holds because host writes to ``MEM`` keep
        the cache coherent (the rule in docs/core.md); rows a paravirtual
        loader patched (:meth:`predecode`) are forgotten too.
        """
        m = self.spec.memory
        if image.shape != self.MEM.shape:
            raise GuestMemoryError(f"an image of {image.shape[0]} units for the {m.size}-unit memory")
        changed = np.flatnonzero(self.MEM != image)
        if changed.size:
            self.MEM[changed] = image[changed]
            n = self.spec.max_ilen_units  # an instruction starting up to n - 1 units before a change covers it
            rows = (changed[:, None] - np.arange(n)[None, :]).ravel()
            rows = rows & (m.size - 1) if self.layout.full_memory else rows[rows >= 0]
            self.DECF[rows << self.layout.row_shift] = 0
        patched = np.flatnonzero(self.PATCHED)
        if patched.size:
            self.DECF[patched << self.layout.row_shift] = 0
            self.PATCHED[patched] = 0

    def invalidate(self, lo: int, hi: int):
        """Forget the pre-decoded instructions starting at memory units lo..hi-1."""
        w = self.layout.row_width
        self.DECF[max(lo, 0) * w:hi * w:w] = 0

    def load_state(self, s):
        """Set this core's state from an interpreter :class:`~vverify.interp.MachineState`."""
        for name in self.spec.registers:
            self.set_reg(name, s.regs[name])
        for name, f in self.spec.files.items():
            self.F[name][:f.count] = np.asarray(s.files[name], dtype=np.uint64)
        self.load_image(self.image_of(s.mem, s.mem_default))

    def image_of(self, mem: dict, default: int, offset: int = 0) -> np.ndarray:
        """A memory image: ``default`` everywhere, ``mem``'s units moved up by ``offset`` (modulo memory)."""
        m = self.spec.memory
        image = np.full(m.size, default & mask(m.unit), dtype=self.MEM.dtype)
        if mem:
            addrs = np.fromiter(mem.keys(), dtype=np.int64, count=len(mem))
            bad = (addrs < 0) | (addrs >= m.size)
            if bad.any():
                raise GuestMemoryError(f"state has memory at {int(addrs[bad][0]):#x}, outside the {m.size}-unit memory")
            values = np.fromiter(mem.values(), dtype=np.uint64, count=len(mem)) & np.uint64(mask(m.unit))
            image[(addrs + offset) % m.size if offset else addrs] = values
        return image

    def to_state(self, default: int | None = None):
        """This core's state as an interpreter state (memory made sparse against ``default``)."""
        from ..interp import MachineState

        regs = {name: self.reg(name) for name in self.spec.registers}
        files = {name: [int(v) for v in self.F[name][:f.count]] for name, f in self.spec.files.items()}
        if default is None:
            vals, counts = np.unique(self.MEM, return_counts=True)
            default = int(vals[np.argmax(counts)])
        nz = np.nonzero(self.MEM != default)[0]
        mem = {int(a): int(self.MEM[a]) for a in nz}
        return MachineState(regs, files, mem, default)


def _quietly(fn):
    """``fn`` with numpy's overflow warnings off, for the plain-Python build of the core.

    There the generated code computes on numpy scalars, whose wrap-around is
    the machine's arithmetic, not an error; compiled, the same code never warns.
    """
    def call(*args):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)

    return call


def clear_compiled():
    """Forget imported core modules (the on-disk cache stays)."""
    _modules.clear()


__all__ = ["Core", "CoreExit", "GuestMemoryError", "load_module", "clear_compiled"]
