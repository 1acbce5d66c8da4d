"""Cold compile and warm start of the emulation core, per bundled spec.

Cold: a fresh process with an empty core cache builds the core (code
generation + numba compilation) and runs one instruction.  Warm: a fresh
process whose cache already holds the compiled core does the same (import +
load of cached machine code).  Each value is one whole process, timed by
pyperf's bench_command.

    python benchmarks/core_startup.py -o results/core_startup.json
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyperf  # noqa: E402

from benchmarks.output import replace_on_success  # noqa: E402

SPECS = ["pg74", "pdp10", "riscv32"]

BUILD = (
    "import os, sys, tempfile; "
    "{setup}"
    "from vverify.spec.loader import load_spec; from vverify.core import Core; "
    "c = Core(load_spec(sys.argv[1])); c.run(1)"
)


def main():
    replace_on_success()
    runner = pyperf.Runner(values=1, processes=3, warmups=1)  # the warmup fills the warm cache
    runner.metadata["what"] = "seconds for a whole process to build the core and run one instruction"
    warm_dir = Path(tempfile.mkdtemp(prefix="vverify-core-warm-"))
    for name in SPECS:
        spec = str(ROOT / "specs" / name / f"{name}.toml")
        cold = BUILD.format(setup="os.environ['VVERIFY_CORE_CACHE_DIR'] = tempfile.mkdtemp(); ")
        runner.bench_command(f"cold_compile_{name}", [sys.executable, "-c", cold, spec])
        warm = BUILD.format(setup=f"os.environ['VVERIFY_CORE_CACHE_DIR'] = {str(warm_dir)!r}; ")
        runner.bench_command(f"warm_start_{name}", [sys.executable, "-c", warm, spec])


if __name__ == "__main__":
    main()
