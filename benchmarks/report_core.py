"""Summarise the core benchmarks (pyperf JSON in results/) into results/CORE.md.

Medians only, and ratios between benchmarks of the same pyperf run.

    python benchmarks/report_core.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyperf  # noqa: E402

from vverify.files import write_atomic  # noqa: E402

RESULTS = ROOT / "results"

COMMANDS = """\
python benchmarks/core_compare.py d19e3b6 b7bcd4c HEAD -o results/core_compare.json
python benchmarks/core_mips.py -o results/core_mips.json
python benchmarks/core_exit.py -o results/core_exit.json
python benchmarks/core_startup.py -o results/core_startup.json
python benchmarks/core_paging.py -o results/core_paging.json
python benchmarks/report_core.py"""


def medians(path):
    suite = pyperf.BenchmarkSuite.load(str(path))
    return {b.get_name(): b.median() for b in suite.get_benchmarks()}, suite


def check(ok):
    return "met" if ok else "**missed**"


def main():
    lines = ["# Emulation core: measurements", "",
             "Medians from pyperf; every ratio compares benchmarks of one run, side by side.", ""]
    mips, suite = medians(RESULTS / "core_mips.json")
    rate = {k: 1 / v / 1e6 for k, v in mips.items()}
    lines += ["## Guest MIPS on the RV32I loop", "",
              f"Workload: {suite.get_metadata().get('workload', '')}.", "",
              "| engine | MIPS (median) |", "|---|---|"]
    for k in ("core", "unicorn", "interpreter"):
        lines.append(f"| {k} | {rate[k]:,.2f} |")
    vs_uni = rate["core"] / rate["unicorn"]
    vs_int = rate["core"] / rate["interpreter"]
    lines += ["", "| target | measured | |", "|---|---|---|",
              f"| core ≥ 530 MIPS (its speed at d19e3b6) | {rate['core']:,.0f} | {check(rate['core'] >= 530)} |",
              f"| core ≥ 2.4× Unicorn (its ratio at d19e3b6) | {vs_uni:.2f}× | {check(vs_uni >= 2.4)} |",
              f"| core ≥ 50× the reference interpreter | {vs_int:,.0f}× | {check(vs_int >= 50)} |", "",
              f"Measured at {suite.get_metadata().get('commit', 'an unrecorded commit')}. Unicorn's own speed "
              "differs between machines more than the core's (the same Unicorn ran 224 MIPS on the machine of "
              "d19e3b6's figures), so the ratio is a property of the machine as well as of the core: compare "
              "ratios of one run, and the commits' figures on one machine (`python benchmarks/guard.py`).", ""]
    compare = RESULTS / "core_compare.json"
    if compare.is_file():
        import json

        c = json.loads(compare.read_text())
        lines += ["## The core at several commits, side by side", "",
                  f"Each commit's own `core_mips.py` loop, a fresh process per commit and round, {c['rounds']} rounds "
                  "round robin with Unicorn in one run; medians of the rounds "
                  "(`python benchmarks/core_compare.py d19e3b6 b7bcd4c HEAD -o results/core_compare.json`).", "",
                  "| engine | commit | MIPS | × Unicorn |", "|---|---|---|---|"]
        for name, mips in c["mips"].items():
            ratio = c["vs_unicorn"].get(name)
            lines.append(f"| {name} | {c['commits'].get(name, '')} | {mips:,.0f} | "
                         f"{'' if ratio is None else f'{ratio:.2f}×'} |")
        lines.append("")
    ex, _ = medians(RESULTS / "core_exit.json")
    lines += ["## Exit round trip (guest trap → Python → resume)", "",
              "| path | median |", "|---|---|",
              f"| `Core.run_raw` + a handler that steps pc over the ecall | {ex['exit_round_trip_raw'] * 1e9:,.0f} ns |",
              f"| `Core.run` (builds an `Exit`) + the same handler | {ex['exit_round_trip_core_run'] * 1e9:,.0f} ns |",
              "", f"Target ≤ 1 µs with a trivial handler: {check(ex['exit_round_trip_raw'] <= 1e-6)} (raw path).", ""]
    paging = RESULTS / "core_paging.json"
    if paging.is_file():
        pm, psuite = medians(paging)
        r = {k: 1 / v / 1e6 for k, v in pm.items()}
        on_off = r["paging_on"] / r["paging_off"]
        lines += ["## Paging on against paging off (riscv32_sv32)", "",
                  "The RV32I loop above on one riscv32_sv32 core: in M-mode, untranslated (off), and in S-mode "
                  "with Sv32 on, code and data on one identity-mapped page (on), where every fetch and the "
                  "loop's load and store go through the page walk; the plain riscv32 core, which generates no "
                  "walk, for reference. One run, side by side (`python benchmarks/core_paging.py -o "
                  f"results/core_paging.json`), at {psuite.get_metadata().get('commit', 'an unrecorded commit')}.",
                  "", "| machine | MIPS (median) |", "|---|---|",
                  f"| riscv32_sv32, paging off | {r['paging_off']:,.0f} |",
                  f"| riscv32_sv32, paging on | {r['paging_on']:,.0f} |",
                  f"| riscv32 (no paging in the spec) | {r['riscv32']:,.0f} |", "",
                  f"Target: paging on ≥ 60 % of paging off: {on_off:.0%}, {check(on_off >= 0.6)}. "
                  "The fetch is cached (docs/core.md, the fetch cache); loads and stores still walk "
                  "(docs/paging.md).", ""]
    st, _ = medians(RESULTS / "core_startup.json")
    lines += ["## Start-up (a whole fresh process: import, build the core, run one instruction)", "",
              "| spec | cold compile | warm start |", "|---|---|---|"]
    worst_cold = worst_warm = 0.0
    for name in ("pg74", "pdp10", "riscv32"):
        c, w = st.get(f"cold_compile_{name}"), st.get(f"warm_start_{name}")
        if c is None:
            continue
        worst_cold, worst_warm = max(worst_cold, c), max(worst_warm, w)
        lines.append(f"| {name} | {c:.2f} s | {w:.2f} s |")
    lines += ["", f"Targets: cold compile ≤ 10 s per spec: {check(worst_cold <= 10)}; "
              f"warm start ≤ 1.5 s: {check(worst_warm <= 1.5)}.", "",
              "## Regenerate", "", "```sh", COMMANDS, "```", ""]
    write_atomic(RESULTS / "CORE.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
