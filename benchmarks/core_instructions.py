"""Host instructions per guest instruction of the core's run loop, counted by callgrind.

Wall-clock MIPS moves with whatever else the machine runs; callgrind's
instruction count does not.  This runs the RV32I loop of core_mips.py under
``valgrind --tool=callgrind`` with instrumentation off until the core is
built and warm, then counts two runs of the loop, a short and a long one, and
divides the difference in host instructions by the difference in guest
instructions: the call into the loop and its way out cancel, leaving the
loop's cost per guest instruction.  The count is repeatable to the
instruction whatever the machine's load.  It also counts the jumps taken per
guest instruction (callgrind's ``--collect-jumps``): the loop is bound by the
front end, so a taken jump costs more than its one instruction, and the
layout LLVM picks shows there first.

    python benchmarks/core_instructions.py            # host instructions per guest instruction
    python benchmarks/core_instructions.py --json     # the same as a JSON object

Needs valgrind (x86-64).  The process under valgrind loads the very code
numba compiled natively: the script warms the core cache natively first and
tells numba under valgrind that the CPU is the host's (valgrind's emulated
CPU would otherwise miss the cache and compile different code).  The count
is of instructions, not cycles: a change that trades instructions for
mispredicted branches or stalls can still move MIPS the other way, so
confirm with core_mips.py.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import mmap
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHORT, LONG = 1_000, 201_000  # loop iterations of the two counted runs

# valgrind's client request on x86-64 (valgrind.h): rotate rdi by 3+13+61+51 = 128 bits (a no-op),
# then ``xchg rbx, rbx``; rax points at the request's arguments, rdx holds the result (left 0 natively)
_REQUEST_CODE = bytes.fromhex("4889f8" "31d2" "48c1c703" "48c1c70d" "48c1c73d" "48c1c733" "4887db" "4889d0" "c3")
_CALLGRIND = (ord("C") << 24) | (ord("T") << 16)  # VG_USERREQ_TOOL_BASE('C', 'T')
DUMP_STATS_AT, START_INSTRUMENTATION = _CALLGRIND + 3, _CALLGRIND + 4


class _Requests:
    """Callgrind's client requests from Python (no-ops outside valgrind)."""

    def __init__(self):
        self._page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self._page.write(_REQUEST_CODE)
        address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        self._call = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p)(address)
        self._keep = []

    def __call__(self, request: int, arg: int = 0):
        args = (ctypes.c_uint64 * 6)(request, arg, 0, 0, 0, 0)
        return self._call(ctypes.addressof(args))

    def dump(self, label: str):
        text = ctypes.create_string_buffer(label.encode())
        self._keep.append(text)
        self(DUMP_STATS_AT, ctypes.addressof(text))


def child(counted: bool):
    """Build the core and warm it up; then, under callgrind, count a short and a long run of the loop."""
    from benchmarks.workloads import A0, LOOP_INSTRUCTIONS, SPECS, T0, riscv_loop, to_bytes
    from vverify.core import Core
    from vverify.spec.loader import load_spec

    path = SPECS / "riscv32" / "riscv32.toml"
    s = load_spec(path if path.exists() else SPECS / "riscv32.toml")  # older trees: one file per spec
    core = Core(s)
    core.write_memory(0, list(to_bytes(riscv_loop(s))))

    def loop(n):
        core.set_reg("pc", 0)
        core.F["x"][T0] = n
        core.F["x"][A0] = 0
        ex = core.run(10 ** 15, trap_exits="all")
        assert ex.reason == "trap" and ex.steps == n * LOOP_INSTRUCTIONS, ex

    loop(SHORT)  # warm-up: compiles a cold cache, decodes the loop, touches every page
    if not counted:
        return
    request = _Requests()
    request(START_INSTRUMENTATION)
    loop(SHORT)  # every path once under instrumentation, then counted from here
    request.dump("warm")
    loop(SHORT)
    request.dump("short")
    loop(LONG)
    request.dump("long")


def _host_cpu() -> dict:
    """numba's own idea of the host CPU: with these set, its cache key is the one a native run uses."""
    import llvmlite.binding as llvm
    from numba.core.codegen import get_host_cpu_features

    return {"NUMBA_CPU_NAME": llvm.get_host_cpu_name(), "NUMBA_CPU_FEATURES": get_host_cpu_features()}


def count() -> dict:
    from benchmarks.workloads import LOOP_INSTRUCTIONS

    env = {**os.environ, **_host_cpu()}
    subprocess.run([sys.executable, __file__, "--child", "native"], check=True, env=env)  # warm the cache natively
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-jumps=yes", "--dump-instr=yes",
               f"--callgrind-out-file={out}",
               sys.executable, __file__, "--child", "counted"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode:
            raise SystemExit(f"callgrind failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
        totals, jumps = {}, {}
        for f in Path(tmp).glob("callgrind.out*"):
            text = f.read_text(errors="replace")
            label = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
            total = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
            if label and total:
                totals[label.group(1)] = int(total.group(1))
                jumps[label.group(1)] = _taken(text)
    if not {"short", "long"} <= totals.keys():
        raise SystemExit(f"callgrind wrote no counts for the runs (found {sorted(totals)})")
    guest = (LONG - SHORT) * LOOP_INSTRUCTIONS
    host = totals["long"] - totals["short"]
    return {"host_instructions_per_guest_instruction": round(host / guest, 3), "host_instructions": host,
            "taken_jumps_per_guest_instruction": round((jumps["long"] - jumps["short"]) / guest, 3),
            "guest_instructions": guest, "short_run_host_instructions": totals["short"]}


def _taken(text: str) -> int:
    """Jumps taken in a callgrind dump: ``jump=N`` lines (unconditional, indirect included) and the
    taken half of ``jcnd=TAKEN/EXECUTED`` lines (conditional)."""
    n = 0
    for m in re.finditer(r"^(jump|jcnd)=(\d+)", text, re.M):
        n += int(m.group(2))
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", choices=("native", "counted"), help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="print a JSON object")
    args = ap.parse_args()
    if args.child:
        child(args.child == "counted")
        return
    c = count()
    if args.json:
        print(json.dumps(c))
    else:
        print(f"{c['host_instructions_per_guest_instruction']:.3f} host instructions per guest instruction "
              f"({c['host_instructions']} over {c['guest_instructions']} guest instructions), "
              f"{c['taken_jumps_per_guest_instruction']:.3f} taken jumps")


if __name__ == "__main__":
    main()
