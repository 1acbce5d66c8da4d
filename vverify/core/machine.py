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
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import VVerifyError
from ..spec.exits import Exit
from ..spec.ir import mask
from . import codegen
from .arguments import ContextCheck, CoreArgumentError, fits, integer, named, state_values, units
from .protocol import (REASONS, ST_BUDGET, ST_CAUSE, ST_SIZE, ST_STEPS, ST_TOTAL, ST_TRACE_CAP, ST_TRACE_COUNT,
                       ST_TRAP_EXITS, ST_TVAL, TRACE_ENTRIES)
from .jit import jit_enabled

_UNLOGGED = (1 << 64) - 1  # a store-log entry for a write the run loop did not make (Core.stores_since)


class GuestMemoryError(VVerifyError):
    """A host-side access to guest memory outside the machine's memory."""


_modules: dict = {}
"""Imported generated modules by (kind, source key, jit): the process's import cache, as sys.modules
is; keyed by the generated source, so specs with the same machine share one module."""


def _core_dir() -> Path:
    """Where generated cores and numba's compiled code live (``$VVERIFY_CORE_CACHE_DIR``)."""
    env = os.environ.get("VVERIFY_CORE_CACHE_DIR")
    if env:
        return Path(env)
    from ..files import cache_dir

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
    return spec.memo(("core_module", jit), lambda s: _generated(s, "core", lambda: codegen.generate(s, jit), jit))


def load_map_module(spec, jit: bool | None = None):
    """Generate (or reuse) and import the compiled virtualization map of ``spec`` (vverify.core.mapgen)."""
    from .mapgen import generate_map

    jit = jit_enabled() if jit is None else jit
    return spec.memo(("map_module", jit), lambda s: _generated(s, "map", lambda: generate_map(s, jit), jit))


def load_helper_module(spec, name: str, jit: bool | None = None):
    """Generate (or reuse) and import spec helper ``name`` compiled to be called by itself
    (vverify.core.helpergen)."""
    from .helpergen import generate_helper

    jit = jit_enabled() if jit is None else jit
    return spec.memo(("helper_module", name, jit),
                     lambda s: _generated(s, "helper", lambda: generate_helper(s, name, jit), jit))


def _generated(spec, kind: str, generate, jit: bool):
    """Generate, then import, a module for ``spec`` named by its source (one import per process).

    The file goes to the cache directory under that name, so numba's on-disk
    cache (``cache=True``) lets a warm process skip compilation.
    """
    try:
        source = generate()
    except (codegen.CoreUnsupported, OSError):
        raise
    except Exception as e:  # noqa: BLE001 - any failure to generate is the spec's, reported as such
        raise codegen.refused(spec, f"generating its {kind} failed ({_first_line(e)})") from e
    key = (kind, codegen.source_key(source), jit)
    if key in _modules:
        return _modules[key]
    d = _core_dir()
    d.mkdir(parents=True, exist_ok=True)
    name = f"vverify_{kind}_{key[1]}{'' if jit else '_py'}"
    path = d / f"{name}.py"
    if not path.exists():
        from ..files import write_atomic

        write_atomic(path, source)
    try:
        module = _import_and_compile(spec, kind, name, path, jit)
    except (codegen.CoreUnsupported, OSError):
        raise
    except Exception as e:  # noqa: BLE001 - SyntaxError, RecursionError, numba's errors...
        sys.modules.pop(name, None)
        where = codegen.where_in(source, _error_line(e, path)) or f"its {kind}"
        raise codegen.refused(spec, f"compiling {where} failed ({_first_line(e)})") from e
    _modules[key] = module
    return module


def _import_and_compile(spec, kind: str, name: str, path: Path, jit: bool):
    mspec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(mspec)
    sys.modules[name] = module
    mspec.loader.exec_module(module)

    def cold():
        return not any((path.parent / "__pycache__").glob(f"{name}.run-*.nbi"))

    if jit and kind == "core" and cold():
        from .precompile import compile_in_parallel, signature  # cold cache: use both cores

        dtype = codegen.mem_dtype(spec.memory.unit)
        with _compile_lock(path):
            if cold():  # else another process compiled it while this one waited: numba's cache has it
                compile_in_parallel(module, path, dtype)
            module.run.compile(signature(module, "run", dtype))  # now, so that a failure is the constructor's
    return module


@contextmanager
def _compile_lock(path: Path):
    """Hold the compile lock of one generated core.  Processes that need the same cold core at once
    (pytest-xdist's workers, two runs of the CLI) would each compile all of it, on the same two
    cores; with the lock the first compiles (on both cores, :mod:`.precompile`) and the others wait,
    then load its result from numba's on-disk cache.  Where the platform has no ``fcntl`` each
    process compiles on its own, as before."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path.with_suffix(".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


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
        self._fetch_at = self.module.fetch_at if self.jit else _quietly(self.module.fetch_at)
        self._map = None
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
        self.ST = self.R[lay.st_base:lay.st_base + ST_SIZE]
        causes = sorted(spec.causes.values(), key=lambda c: c.index)
        self.R[lay.cc_base:lay.cc_base + len(causes)] = [c.code for c in causes]
        self.MEM = np.zeros(m.size, dtype=np.dtype(codegen.mem_dtype(m.unit)))
        self.DECF = np.zeros(lay.decf_size, dtype=np.uint64)
        self.PATCHED = self.DECF[lay.patch_base:lay.code_page_base]  # a view: nonzero where predecode() patched
        self.CODE_PAGES = self.DECF[lay.code_page_base:lay.trace_base]  # a view: nonzero where code was decoded
        self.TRACE = self.DECF[lay.trace_base:lay.code_gen].reshape(TRACE_ENTRIES, 2)  # a view: delivered traps (record_traps)
        # the units predecode() patched since memory was last loaded or flushed: the only ones whose
        # mark can be set (compiled code that patches, the paravirtual loop, re-patches only where
        # the loader did), so load_image looks at these, not at a mark per memory unit
        self._patched: set = set()
        # returns from compiled code to Python: run_raw (and run), run_context, enter_trap and predecode
        # count one each; a VMM's ``crossings`` are its runs' share.  fetch_address and the compiled map
        # do not count: the VMMs remember their results per spec (BoundedMemo), so whether they are
        # called at all depends on what ran before in the process, and the count would not be exact.
        self.returns = 0
        self._cause_names = [c.name for c in causes]
        self._budget = self._mask = None
        self._context = ContextCheck(spec, lay, codegen.index_sources(spec))
        self._check_context = self._context.check  # a bound method: the cheapest call per emulated instruction
        self._codes = frozenset(c.code for c in causes)
        self._slot_masks = self._state_masks()
        self._hardwired = {lay.file_offset[n] + i: v for n, f in spec.files.items() for i, v in f.hardwired.items()}
        # per register: its name, slot in R, largest value, and how a refusal names it (load_state)
        self._reg_checks = [(n, lay.reg_index[n], mask(r.width), r.width, f"register '{n}'")
                            for n, r in spec.registers.items()]

    def _state_masks(self) -> np.ndarray:
        """The largest value each register and file slot of ``R`` may hold (see load_context)."""
        masks = np.zeros(self.layout.st_base, dtype=np.uint64)
        for name, r in self.spec.registers.items():
            masks[self.layout.reg_index[name]] = mask(r.width)
        for name, f in self.spec.files.items():
            base = self.layout.file_offset[name]
            masks[base:base + (1 << f.index_width)] = mask(f.width)
        return masks

    # ------------------------------------------------------------ running

    def run(self, budget: int, trap_exits=()) -> Exit:
        """Run at most ``budget`` instructions; traps in ``trap_exits`` (or "all") return to the caller."""
        return self.exit_of(self.run_raw(budget, self.trap_mask(trap_exits)))

    def exit_of(self, reason) -> Exit:
        """The :class:`Exit` a run that returned reason code ``reason`` left in the status slots (for
        compiled code that ran this machine's loop itself and returns its last exit to Python)."""
        reason = REASONS[int(reason)]
        st = self.ST
        steps = int(st[ST_STEPS])
        if reason in ("trap", "trace_full"):
            return Exit(reason, self._cause_names[int(st[ST_CAUSE])], int(st[ST_TVAL]), steps)
        if reason in ("illegal", "hypercall", "vmexit"):
            return Exit(reason, None, int(st[ST_TVAL]), steps)
        return Exit(reason, None, 0, steps)

    def run_raw(self, budget: int, trap_mask: int) -> int:
        """The run loop with no Python wrapping: returns the reason code (for a VMM's hot loop).

        ``budget`` is 0 .. 2**64 - 1 instructions, ``trap_mask`` a mask of
        cause indexes (:meth:`trap_mask`); each is checked when it changes,
        so a hot loop repeating the same ones pays nothing for the checks.
        """
        if budget != self._budget or trap_mask != self._mask:
            self._set_limits(budget, trap_mask)
        if self._context.slots:  # only a spec whose raw register values can index a file
            self._check_context(self.R)
        reason = self._run(self.R, self.MEM, self.DECF)
        self.returns += 1
        return reason

    def _set_limits(self, budget, trap_mask):
        budget = fits(budget, 64, "a budget")
        trap_mask = fits(trap_mask, len(self._cause_names), "a trap mask")
        self.ST[ST_BUDGET] = self._budget = budget
        self.ST[ST_TRAP_EXITS] = self._mask = trap_mask

    def run_context(self, context: np.ndarray) -> int:
        """The run loop over another register array laid out as ``R`` (its status slots
        included), on this machine's memory and code cache; returns the reason code.

        A VMM's interpreter routines run a guest's view this way
        (vverify.vmm.emulation): the same compiled semantics, other registers.
        ``context`` must be a writable, contiguous uint64 array of exactly
        ``R``'s length, or :class:`CoreArgumentError` (the loop would write
        past a shorter one); its registers must fit their widths, which is
        checked where a too-wide value could index past the array.
        """
        self._check_context(context)
        reason = self._run(context, self.MEM, self.DECF)
        self.returns += 1
        return reason

    def enter_trap(self, context: np.ndarray, pc, cause_code, tval):
        """The spec's trap entry on register array ``context`` (see :meth:`run_context`);
        returns ``(next pc, False if the entry itself faulted)``.

        ``pc`` and ``tval`` must fit the spec's pc and trap-value widths and
        ``cause_code`` be the code of one of its causes.
        """
        self._check_context(context)
        pc = fits(pc, self.spec.pc_width, "a pc")
        tval = fits(tval, self.spec.tval_width, "a trap value")
        if integer(cause_code, "a cause code") not in self._codes:
            raise CoreArgumentError(f"{int(cause_code)} is not the code of a cause of spec '{self.spec.name}'")
        out = self._trap_entry(context, self.MEM, self.DECF, np.uint64(pc), np.uint64(cause_code), np.uint64(tval))
        self.returns += 1
        return out

    def kernels(self):
        """The compiled run loop and trap entry, ``(run, trap_entry)``, for compiled code that drives
        this machine itself (a VMM's dispatcher loop, vverify.vmm.trap_emulate_loop), or None where
        they cannot be handed out: the plain-Python build, and a spec whose register values can index
        a file unmasked (:meth:`run_context` checks those; compiled code calling the loop could not).

        ``run(R, MEM, DECF)`` is :meth:`run_raw` without its checks: the budget and trap mask are
        read from ``R``'s status slots, which the caller writes (and restores: :meth:`run_raw`
        remembers what it last wrote there).  ``trap_entry(R, MEM, DECF, pc, cause_code, tval)`` is
        :meth:`enter_trap`'s, its arguments numpy.uint64 values that fit.
        """
        if not self.jit or self._context.slots:
            return None
        return self.module.run, self.module.trap_entry

    def save_context(self) -> np.ndarray:
        """A copy of the registers and register files: what a VMM saves when it switches guests.

        Only those: the status slots after them in R (budget, exit reason, step
        counts) belong to the run loop, which caches what it last wrote there.
        """
        return self.R[:self.layout.st_base].copy()

    def load_context(self, context: np.ndarray) -> None:
        """Make a context from :meth:`save_context` the machine's registers and files.

        Refuses one of another length (a scalar would fill every register),
        a value wider than its register, or a hardwired entry changed.
        """
        self.R[:self.layout.st_base] = state_values(context, self._slot_masks, self._hardwired)

    def fetch_address(self, context: np.ndarray):
        """Where the registers in ``context`` (laid out as ``R``: a guest's view, its memory offset
        in the status slot) fetch their next instruction: a guest-physical address, or None if
        fetching it faults.  The spec's own fetch, compiled (see codegen's ``fetch_at``)."""
        exc, fa = self._fetch_at(context, self.MEM, self.DECF)
        return None if exc >= 0 else int(fa)

    def record_traps(self, capacity: int) -> None:
        """Have the run loop record the traps it delivers to the guest's own handler
        (``capacity`` entries at most before it exits with ``trace_full``; 0 stops recording).

        Opt-in: a core records nothing until asked, so other callers pay
        nothing.  The recorded ``(cause, pc)`` pairs are taken with
        :meth:`take_traps`; see ``protocol.TRACE_ENTRIES``.
        """
        capacity = integer(capacity, "a trace capacity")
        if not 0 <= capacity <= TRACE_ENTRIES:
            raise CoreArgumentError(f"a trace capacity of {capacity} entries; the core has room for 0 .. {TRACE_ENTRIES}")
        self.ST[ST_TRACE_CAP] = capacity
        self.ST[ST_TRACE_COUNT] = 0

    def take_traps(self) -> list:
        """The traps recorded since the last call, as ``(cause name, pc)``, oldest first; empties the buffer."""
        codes, pcs = self.take_trap_codes()
        names = self._cause_names
        return [(names[c], pc) for c, pc in zip(codes.tolist(), pcs.tolist())]

    def take_trap_codes(self) -> tuple:
        """The traps recorded since the last call as two arrays, cause codes (``Cause.index``) and
        pcs, oldest first; empties the buffer.  No Python object per trap: a VMM keeps them as
        arrays (vverify.vmm.trace)."""
        n = min(int(self.ST[ST_TRACE_COUNT]), TRACE_ENTRIES)
        got = self.TRACE[:n]
        codes, pcs = got[:, 0].astype(np.int32), got[:, 1].copy()
        self.ST[ST_TRACE_COUNT] = 0
        return codes, pcs

    def context_of(self, state) -> np.ndarray:
        """A register array laid out as ``R`` holding ``state``'s registers and files (status zero)."""
        ctx = np.zeros(self.layout.size, dtype=np.uint64)
        for name, r in self.spec.registers.items():
            ctx[self.layout.reg_index[name]] = state.regs[name] & mask(r.width)
        for name, f in self.spec.files.items():
            base = self.layout.file_offset[name]
            ctx[base:base + f.count] = np.asarray(state.files[name], dtype=np.uint64)
        return ctx

    def compiled_map(self) -> "CompiledMap":
        """The spec's virtualization map, compiled for this machine (made on first use)."""
        if self._map is None:
            self._map = CompiledMap(self)
        return self._map

    def compiled_helper(self, name: str):
        """The spec's helper ``name`` compiled to be called by itself on this machine
        (vverify.core.helpergen), made on first use."""
        from .helpergen import CompiledHelper

        helpers = self.__dict__.setdefault("_helpers", {})
        if name not in helpers:
            helpers[name] = CompiledHelper(self, name)
        return helpers[name]

    def trap_mask(self, causes) -> int:
        """The mask of ``causes`` (names, or "all") for :meth:`run_raw`."""
        if isinstance(causes, str) and causes == "all":
            return (1 << len(self._cause_names)) - 1
        if isinstance(causes, str) or not hasattr(causes, "__iter__"):
            raise CoreArgumentError(f'trap exits are "all" or a collection of cause names, not {causes!r:.40}')
        out = 0
        for c in causes:
            out |= 1 << named(c, self.spec.causes, "cause").index
        return out

    @property
    def cause_names(self) -> list:
        """The spec's cause names by index (the codes the status slots and the trace hold)."""
        return list(self._cause_names)

    @property
    def instructions_executed(self) -> int:
        return int(self.ST[ST_TOTAL])

    # ------------------------------------------------------------ state

    def reg(self, name) -> int:
        return int(self.R[named(name, self.layout.reg_index, "register")])

    def set_reg(self, name, value: int):
        """Set register ``name`` to the integer ``value`` modulo 2**width, as the machine's own arithmetic wraps."""
        r = named(name, self.spec.registers, "register")
        self.R[self.layout.reg_index[name]] = integer(value, f"a value for register '{name}'") & mask(r.width)

    def _span(self, addr, n, doing: str) -> tuple:
        """``(addr, n)`` as ints naming units inside memory, or GuestMemoryError."""
        addr, n = integer(addr, "an address"), integer(n, "a count of units")
        size = self.spec.memory.size
        if addr < 0 or n < 0 or addr + n > size:
            raise GuestMemoryError(f"{doing} {n} units at {addr:#x} runs off the {size}-unit memory")
        return addr, n

    def write_memory(self, addr: int, values):
        """Copy ``values`` (memory units, each fitting the unit width) into guest memory at ``addr``, bounds-checked."""
        values = units(values, self.spec.memory.unit, "values written to memory")
        addr, n = self._span(addr, len(values), "writing")
        self.MEM[addr:addr + n] = values
        self.flush_code_cache()

    def read_memory(self, addr: int, n: int) -> np.ndarray:
        addr, n = self._span(addr, n, "reading")
        return self.MEM[addr:addr + n].copy()

    def _unit(self, addr, doing: str) -> int:
        """``addr`` as an int naming a memory unit, or GuestMemoryError."""
        addr = integer(addr, "an address")
        if not 0 <= addr < self.spec.memory.size:
            raise GuestMemoryError(f"{doing} at {addr:#x}, outside the {self.spec.memory.size}-unit memory")
        return addr

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
        addr = self._unit(addr, "pre-decoding")
        word = fits(word, self.spec.max_ilen_units * self.spec.memory.unit, "an instruction word")
        row = addr << self.layout.row_shift
        tag = self.module.decode(np.uint64(word), self.DECF, np.uint64(row))
        self.returns += 1
        if tag == codegen.ILLEGAL_TAG:
            raise CoreArgumentError(f"pre-decoding {word:#x}, which encodes no instruction of spec '{self.spec.name}'")
        self.DECF[row] = tag
        self.PATCHED[addr] = 1
        self._patched.add(addr)
        self._mark_code_pages(addr)

    def unpatch(self, addr: int):
        """Undo :meth:`predecode` at ``addr``: the instruction in memory runs there again."""
        addr = self._unit(addr, "unpatching")
        self.DECF[addr << self.layout.row_shift] = 0
        self.PATCHED[addr] = 0

    def flush_code_cache(self):
        self.DECF[:self.layout.patch_base:self.layout.row_width] = 0
        self.PATCHED[:] = 0
        self._patched.clear()
        self.CODE_PAGES[:] = 0  # nothing is decoded any more
        self.code_written()

    def code_written(self):
        """Advance the code-write generation (codegen.Layout.code_gen): memory that may hold code
        changed.  Every host write through this class's methods does it, as the run loop's stores
        to marked code pages do, so that what was checked against memory at an older generation
        is checked again."""
        lay = self.layout
        self.DECF[lay.code_gen] += np.uint64(1)
        # a write the run loop did not make: its generation's log entry names no store
        self.DECF[lay.store_log + (int(self.DECF[lay.code_gen]) & (codegen.STORE_LOG - 1))] = _UNLOGGED

    def code_generation(self) -> int:
        return int(self.DECF[self.layout.code_gen])

    def stores_since(self, generation: int) -> list | None:
        """``(first memory unit, units)`` of each store to a marked code page since the code-write
        generation was ``generation``, oldest first (codegen.Layout.store_log); None when they are
        not all known: more than the log holds, or a write through this class's methods among them.
        On a core whose pages are all marked this is every store of a run, which is how a VMM that
        emulates one instruction learns what it wrote without comparing memory before and after."""
        lay, now = self.layout, self.code_generation()
        if not 0 <= now - generation <= codegen.STORE_LOG:
            return None
        out = []
        for g in range(generation + 1, now + 1):
            entry = int(self.DECF[lay.store_log + (g & (codegen.STORE_LOG - 1))])
            if entry == _UNLOGGED:
                return None
            out.append((entry & ((1 << codegen.STORE_LOG_UNITS) - 1), entry >> codegen.STORE_LOG_UNITS))
        return out

    def _mark_code_pages(self, addr: int):
        """What the run loop does when it decodes at ``addr`` (see codegen.Layout.code_page_base):
        mark the pages of the instruction's first unit and of the last it may cover."""
        lay, size = self.layout, self.spec.memory.size
        last = addr + self.spec.max_ilen_units - 1
        last = last % size if lay.full_memory else min(last, size - 1)
        self.CODE_PAGES[addr >> lay.page_shift] = 1
        self.CODE_PAGES[last >> lay.page_shift] = 1

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
        image = np.asarray(image)
        if image.shape != self.MEM.shape:
            raise GuestMemoryError(f"an image of shape {image.shape} for the {m.size}-unit memory")
        units(image, m.unit, "a memory image")
        changed = np.flatnonzero(self.MEM != image)
        if changed.size:
            self.MEM[changed] = image[changed]
            n = self.spec.max_ilen_units  # an instruction starting up to n - 1 units before a change covers it
            rows = (changed[:, None] - np.arange(n)[None, :]).ravel()
            rows = rows & (m.size - 1) if self.layout.full_memory else rows[rows >= 0]
            self.DECF[rows << self.layout.row_shift] = 0
            self.code_written()
        patched = np.fromiter(self._patched, dtype=np.int64, count=len(self._patched))
        patched = patched[self.PATCHED[patched] != 0]  # those still patched (not since unpatched)
        self._patched.clear()
        if patched.size:
            self.DECF[patched << self.layout.row_shift] = 0
            self.PATCHED[patched] = 0
        if changed.size or patched.size:
            self._unmark_pages_without_code()

    def _unmark_pages_without_code(self):
        """Clear the code-page marks of pages no decoded instruction covers any more.

        Marks only ever over-approximate (codegen.Layout.code_page_base), and a
        stale one is not free: every store to its page then drops rows and
        advances the code-write generation, which makes binary translation
        compare each block's code with memory on every lookup.  A guest loaded
        over another (another technique placing the same program elsewhere, as
        a benchmark or the fuzzer does) would inherit the marks of the old
        guest's code on what is now its data: x86_32 ``compute`` under binary
        translation ran 2.4x slower after a native run than before it.  Only
        marked pages are looked at, a handful.  Clearing a mark also advances
        the generation, so that a translation checked while its page was marked
        is checked (and its pages marked) again before it runs.
        """
        lay, size = self.layout, self.spec.memory.size
        w, back = lay.row_width, self.spec.max_ilen_units - 1
        cleared = False
        for p in np.flatnonzero(self.CODE_PAGES).tolist():
            lo, hi = (p << lay.page_shift) - back, min((p + 1) << lay.page_shift, size)
            live = self.DECF[max(lo, 0) * w:hi * w:w].any()
            if lo < 0 and lay.full_memory:  # instructions at the top of memory wrap around into page 0
                live = live or self.DECF[(size + lo) * w:size * w:w].any()
            if not live:
                self.CODE_PAGES[p] = 0
                cleared = True
        if cleared:
            self.code_written()

    def invalidate(self, lo: int, hi: int):
        """Forget the pre-decoded instructions starting at memory units lo..hi-1.

        ``lo`` may be below 0, as in ``invalidate(a - max_ilen + 1, a + 1)``
        for a write at ``a``: where memory fills the address space, the units
        below 0 are those at its top (instructions there wrap around to 0, as
        the loop's own stores know); elsewhere there are none.  Beyond that,
        ``-size <= lo <= hi <= size`` or GuestMemoryError: a range past either
        end used to reach the patch marks after the rows and forget them.
        """
        lo, hi = integer(lo, "an address"), integer(hi, "an address")
        size, w = self.spec.memory.size, self.layout.row_width
        if not -size <= lo <= hi <= size:
            raise GuestMemoryError(f"invalidating units {lo:#x}..{hi:#x}, not a range of the {size}-unit memory")
        if lo < 0:
            if self.layout.full_memory:
                self.DECF[(size + lo) * w:(size + min(hi, 0)) * w:w] = 0
            lo = 0
        if hi > lo:
            self.DECF[lo * w:hi * w:w] = 0
        self.code_written()

    def load_state(self, s):
        """Set this core's state from an interpreter :class:`~vverify.spec.state.MachineState`.

        Every value must fit its register, file or memory unit and every
        file have its count of entries: the interpreter would compute with a
        wider value as it is, where the core would cut it.
        """
        regs = []
        for name, slot, top, width, what in self._reg_checks:
            v = _entry(s.regs, name, "register")
            if type(v) is not int or not 0 <= v <= top:  # anything but a plain int that fits: as fits() says
                v = fits(v, width, what)
            regs.append((slot, v))
        files = {name: self._file_values(name, _entry(s.files, name, "register file")) for name in self.spec.files}
        image = self.image_of(s.mem, s.mem_default)
        for slot, v in regs:
            self.R[slot] = v
        for name, values in files.items():
            self.F[name][:len(values)] = values
        self.R[self.layout.bank_base:] = 0  # the machine's own state: no guest's banked copies to exchange
        self.load_image(image)

    def _file_values(self, name, values) -> np.ndarray:
        f = self.spec.files[name]
        arr = units(values, f.width, f"register file '{name}'")
        if arr.shape != (f.count,):
            raise CoreArgumentError(f"register file '{name}' has {f.count} entries, not {arr.shape}")
        return arr.astype(np.uint64)

    def image_of(self, mem: dict, default: int, offset: int = 0) -> np.ndarray:
        """A memory image: ``default`` everywhere, ``mem``'s units moved up by ``offset`` (modulo memory)."""
        m = self.spec.memory
        image = np.full(m.size, fits(default, m.unit, "a default memory unit"), dtype=self.MEM.dtype)
        offset = integer(offset, "an offset") % m.size
        if mem:
            addrs = np.fromiter(mem.keys(), dtype=np.int64, count=len(mem))
            bad = (addrs < 0) | (addrs >= m.size)
            if bad.any():
                raise GuestMemoryError(f"state has memory at {int(addrs[bad][0]):#x}, outside the {m.size}-unit memory")
            values = units(list(mem.values()), m.unit, "memory")
            image[(addrs + offset) % m.size if offset else addrs] = values
        return image

    def to_state(self, default: int | None = None):
        """This core's state as an interpreter state (memory made sparse against ``default``)."""
        from ..spec.state import MachineState

        regs = {name: self.reg(name) for name in self.spec.registers}
        files = {name: [int(v) for v in self.F[name][:f.count]] for name, f in self.spec.files.items()}
        if default is None:
            vals, counts = np.unique(self.MEM, return_counts=True)
            default = int(vals[np.argmax(counts)])
        default = fits(default, self.spec.memory.unit, "a default memory unit")
        nz = np.nonzero(self.MEM != default)[0]
        mem = {int(a): int(self.MEM[a]) for a in nz}
        return MachineState(regs, files, mem, default)


class CompiledMap:
    """A spec's virtualization map compiled (vverify.core.mapgen), as a VMM's allocator uses it.

    ``sets`` marks the registers the map sets (relocated, shadowed, mode);
    :meth:`place` computes their real values for a guest whose view is in a
    register array; :meth:`offset` the guest's memory offset.
    """

    def __init__(self, core: Core):
        from .mapgen import set_registers

        spec = core.spec
        self.module = load_map_module(spec, core.jit)
        self._place = self.module.map_place if core.jit else _quietly(self.module.map_place)
        self._offset = self.module.map_offset if core.jit else _quietly(self.module.map_offset)
        self.params = list(spec.virtualization.params)
        self.widths = [spec.virtualization.params[p] for p in self.params]
        self.sets = np.zeros(len(spec.registers), dtype=np.bool_)
        for name in set_registers(spec):
            self.sets[core.layout.reg_index[name]] = True
        self._core = core

    def kernel(self):
        """The compiled ``map_place(view, MEM, DECF, P, out)`` that :meth:`place` calls, for compiled
        code that places guests itself (vverify.vmm.trap_emulate_loop); None in the plain-Python build."""
        return self.module.map_place if self._core.jit else None

    def param_array(self, params: dict) -> np.ndarray:
        """The placement parameters in the map's order, each masked to its width."""
        return np.array([params[p] & mask(w) for p, w in zip(self.params, self.widths)] or [0], dtype=np.uint64)

    def offset(self, view: np.ndarray, P: np.ndarray) -> int:
        c = self._core
        return int(self._offset(view, c.MEM, c.DECF, P)) & mask(c.spec.memory.address)

    def place(self, view: np.ndarray, P: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out[i]`` := the real value of every register ``i`` the map sets; returns ``out``."""
        c = self._core
        self._place(view, c.MEM, c.DECF, P, out)
        return out


def _entry(table: dict, name: str, what: str):
    if name not in table:
        raise CoreArgumentError(f"the state has no value for {what} '{name}'")
    return table[name]


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


__all__ = ["CompiledMap", "Core", "CoreArgumentError", "GuestMemoryError", "load_helper_module", "load_map_module",
           "load_module", "clear_compiled"]
