"""results/REPORT.md: tables, plots and the published comparison, from saved pyperf JSON only."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from . import costmodel as C
from . import plots
from .results import load
from .workloads import WORKLOADS

PLOTS = {"overhead": "bench_overhead.png", "events": "bench_events.png", "cycles": "bench_cycles.png"}
REGENERATE = """\
```sh
vverify bench --fast                 # every spec x technique x workload: 2 processes x 3 values, a few minutes
vverify bench                        # the full run: 6 processes x 5 values per cell; reports its duration
vverify report results/bench.json    # these tables and plots again from the JSON, without measuring
python -m pyperf compare_to OLD.json results/bench.json   # two runs, benchmark by benchmark
```"""


# ------------------------------------------------------------------ formatting


def fmt_time(s: float) -> str:
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e9:.3g} ns"


def fmt_num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.0f}"
    if abs(x - round(x)) < 1e-9:
        return f"{x:.0f}"
    return f"{x:.2f}"


def fmt_ratio(x: float) -> str:
    return f"{x:,.0f}×" if x >= 100 else f"{x:.3g}×"


def _mmss(s) -> str:
    if s is None:
        return "?"
    s = int(round(float(s)))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def _label(w: str) -> str:
    return WORKLOADS[w].label if w in WORKLOADS else w


class Notes:
    """Footnotes for n/a cells: one number per distinct reason."""

    def __init__(self):
        self.reasons: dict = {}

    def mark(self, reason: str) -> str:
        if reason not in self.reasons:
            self.reasons[reason] = len(self.reasons) + 1
        return f"n/a[^{self.reasons[reason]}]" if reason else "n/a"

    def lines(self) -> list:
        return [f"[^{n}]: {r}" for r, n in self.reasons.items()]


def _cell(res, notes, spec, tech, w):
    st, why = res.status(spec, tech, w)
    if st == "measured":
        return None
    if st == "n/a":
        return notes.mark(why)
    if st == "error":
        return f"**error**: {why}"
    return "–"


def _table(header, rows) -> list:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


# ------------------------------------------------------------------ sections


def section_run(res) -> list:
    out = ["## This run", ""]
    rows = []
    for r in res.runs:
        s = r.get("settings") or {}
        how = (f"{r.get('mode') or '?'}: {s.get('processes', '?')} process(es), {s.get('values', '?')} values and "
               f"{s.get('warmups', '?')} warm-up per cell, runs of about {1e3 * s.get('target_seconds', 0):.0f} ms"
               if s else (r.get("mode") or "?"))
        dates = r.get("dates")
        rows += [("file", f"`{r['file']}`"), ("command", f"`{r.get('command') or '?'}`"), ("mode", how),
                 ("duration", _mmss(r.get("duration_s"))),
                 ("dates", f"{dates[0]:%Y-%m-%d %H:%M} to {dates[1]:%H:%M}" if dates else "?"),
                 ("load average (1 min)", r.get("load") or "?")]
    m = res.machine
    rows.append(("machine", ", ".join(str(x) for x in (m.get("cpu_model_name"), f"{m.get('cpu_count', '?')} CPUs",
                                                      m.get("platform"), f"Python {m.get('python_version', '?')}",
                                                      f"pyperf {m.get('perf_version', '?')}") if x)))
    st = [c["status"] for c in res.cells.values()]
    rows.append(("cells", f"{st.count('measured')} measured, {st.count('n/a')} not applicable, "
                          f"{st.count('error')} failed"))
    out += _table(["", ""], rows)
    busy = _busy(res)
    if busy:
        out += ["", f"**The machine was busy during this run** (1-minute load average {busy} on "
                    f"{m.get('cpu_count', '?')} CPUs): wall times are inflated and noisier than on a quiet machine.  "
                    "Counts and modeled cycles do not depend on load.  Rerun the command above on a quiet machine "
                    "for figures to publish."]
    out += ["", "Each value is wall time per guest operation: pyperf times `vmm.run` over a program of N operations "
                "(building the VMM is not timed) and divides by N.  Counters are exact and identical on every run; "
                "counts per operation are the steady-state difference between a run of N operations and a pilot run "
                "of 8.", ""]
    return out


def _busy(res) -> str:
    """The highest load average recorded, as text, when it was at least half the CPU count."""
    import re

    cpus = res.machine.get("cpu_count") or 1
    loads = [float(x) for r in res.runs for x in re.findall(r"\d+\.\d+|\d+", str(r.get("load") or ""))]
    worst = max(loads, default=0.0)
    return f"up to {worst:.2f}" if worst >= 0.5 * cpus else ""


def section_overhead(res, notes) -> list:
    out = ["## 1. Wall time per operation and overhead against native", "",
           "Median over all values; in brackets, the median divided by native's on the same spec and workload.", ""]
    techs = res.techniques()
    for spec in res.specs():
        rows = []
        for w in res.workloads():
            n = res.get(spec, "native", w)
            row = [_label(w)]
            for t in techs:
                m = res.get(spec, t, w)
                c = _cell(res, notes, spec, t, w)
                if m is None:
                    row.append(c)
                elif t == "native" or n is None:
                    row.append(f"{fmt_time(m.median)} ± {fmt_time(m.stdev)}" if t == "native" else fmt_time(m.median))
                else:
                    row.append(f"{fmt_time(m.median)} ({fmt_ratio(m.median / n.median)})")
            rows.append(row)
        out += [f"### {spec}", ""] + _table(["workload"] + techs, rows) + [""]
    out += [f"![Overhead per technique and workload]({PLOTS['overhead']})", ""]
    return out


def section_outside(res, notes) -> list:
    nano = [w for w in res.workloads() if WORKLOADS.get(w) and WORKLOADS[w].kind == "nano"]
    techs = res.techniques()
    out = ["## 2. Where the time goes: wall time outside the guest (nanobenchmarks)", "",
           "The share of each operation's wall time spent in the VMM and in crossings between the compiled core and "
           "Python, rather than running guest instructions.  Time in the guest is estimated as the instructions run "
           "directly per operation times the core's own time per instruction on that spec (measured on the native "
           "compute loop in the same process: see the last column).", ""]
    rows = []
    for spec in res.specs():
        for w in nano:
            if all(res.get(spec, t, w) is None for t in techs):
                continue
            row = [spec, _label(w)]
            ns = None
            for t in techs:
                m = res.get(spec, t, w)
                if m is None:
                    row.append(_cell(res, notes, spec, t, w))
                    continue
                ns = ns or m.guest_ns
                f = m.outside_fraction()
                row.append("?" if f is None else f"{100 * f:.1f} %")
            row.append(f"{ns:.2f} ns" if ns else "?")
            rows.append(row)
    out += _table(["spec", "nanobenchmark"] + techs + ["core time per instruction"], rows) + [""]
    return out + section_cost_per_event(res, notes, nano)


def section_cost_per_event(res, notes, nano) -> list:
    """What one VMM event costs here: (wall time per operation - native's) / events per operation."""
    techs = [t for t in res.techniques() if t != "native"]
    out = ["### The cost per event", "",
           "(Wall time per operation − native's, same run) ÷ (real traps to the VMM + emulated instructions + "
           "hypercalls + VM exits per operation): what one event costs on this emulator.  On hardware a VM exit "
           "costs 1,000–2,400 cycles (Adams & Agesen 2006), about 0.3–0.8 µs at 3 GHz.  \"–\": no such event.", ""]
    rows = []
    for spec in res.specs():
        for w in nano:
            n = res.get(spec, "native", w)
            if n is None or all(res.get(spec, t, w) is None for t in techs):
                continue
            row = [spec, _label(w)]
            for t in techs:
                m = res.get(spec, t, w)
                if m is None:
                    row.append(_cell(res, notes, spec, t, w))
                    continue
                k = C.vmm_events(m.per_op)
                row.append(fmt_time((m.median - n.median) / k) if k > 0 else "–")
            rows.append(row)
    return out + _table(["spec", "nanobenchmark"] + techs, rows) + [""]


def section_counters(res) -> list:
    out = ["## 3. Events per operation (exact)", "",
           "From the VMM's counters (`vverify.vmm.Counters`), per operation in the steady state: guest instructions, "
           "those run directly and those emulated by the VMM, real traps to the VMM by cause, returns from the core "
           "by reason, traps delivered to the guest, hypercalls, binary translation's translations and "
           "translation-cache hits and misses, and crossings: returns from compiled code into Python (a cost of this "
           "emulator, not an event of the cost model).", ""]
    rows = []
    for spec in res.specs():
        for w in res.workloads():
            for t in res.techniques():
                m = res.get(spec, t, w)
                if m is None:
                    continue
                p = m.per_op

                def group(prefix, p=p):
                    items = [(k.split(".", 1)[1], v) for k, v in p.items() if k.startswith(prefix + ".") and v]
                    return ", ".join(f"{k} {fmt_num(v)}" for k, v in items) or "–"

                rows.append([spec, _label(w), t, fmt_num(p.get("guest_instructions", 0)), fmt_num(p.get("direct", 0)),
                             fmt_num(p.get("emulated", 0)), group("traps"), group("exits"), group("reflected"),
                             fmt_num(p.get("hypercalls", 0)), fmt_num(p.get("translations", 0)),
                             f"{fmt_num(p.get('tc_hits', 0))} / {fmt_num(p.get('tc_misses', 0))}",
                             fmt_num(p["crossings"]) if "crossings" in p else "–"])
    out += _table(["spec", "workload", "technique", "guest instr.", "direct", "emulated", "traps to VMM", "core exits",
                   "delivered to guest", "hypercalls", "translations", "TC hits / misses", "crossings"], rows)
    out += ["", f"![Exits and traps per operation]({PLOTS['events']})", ""]
    return out


def section_modeled(res, profiles) -> list:
    out = ["## 4. Modeled cycles per operation", "",
           "Counts per operation (section 3) times cycles per event from a hardware profile (section 6).  The model "
           "holds per-event figures only: every number here comes out of the counts.", ""]
    techs = res.techniques()
    for prof in profiles.values():
        rows = []
        for spec in res.specs():
            for w in res.workloads():
                n = res.get(spec, "native", w)
                if all(res.get(spec, t, w) is None for t in techs):
                    continue
                ntot = n.modeled(prof)[0] if n is not None else None
                row = [spec, _label(w)]
                for t in techs:
                    m = res.get(spec, t, w)
                    if m is None:
                        row.append("–")
                        continue
                    tot = m.modeled(prof)[0]
                    row.append(fmt_num(tot) if t == "native" or not ntot else f"{fmt_num(tot)} ({fmt_ratio(tot / ntot)})")
                rows.append(row)
        out += [f"### Profile `{prof.name}`: {prof.title}", ""] + _table(["spec", "workload"] + techs, rows) + [""]
    first = next(iter(profiles.values()), None)
    if first is not None:
        out += [f"![Modeled cycles per nanobenchmark operation, by event ({first.name})]({PLOTS['cycles']})", ""]
    return out


def _hw_technique(res, spec, w):
    for t in res.techniques():
        m = res.get(spec, t, w)
        if m is not None and m.kind == "hardware":
            return t
    return None


def _hw_name(res):
    for m in res.measurements.values():
        if m.kind == "hardware":
            return m.technique
    names = [t for t in res.techniques() if "hardware" in t]
    return names[0] if names else None


def _paper_values(row):
    """(native, bt, hw) as numbers or None, plus display strings for relations."""
    nat, bt, hw = row.get("native"), row.get("bt"), row.get("hw")
    shown = [fmt_num(nat) if nat is not None else "—", fmt_num(bt) if bt is not None else "—",
             fmt_num(hw) if hw is not None else "—"]
    if "bt_over_native" in row:
        shown[1] = f"native + {fmt_num(row['bt_over_native'])}"
    if row.get("hw_native"):
        shown[2] = "≈ native"
    return nat, bt, hw, shown


def _paper_winner(row):
    nat, bt, hw, _ = _paper_values(row)
    if "bt_over_native" in row and row.get("hw_native"):
        return "hardware"
    if row.get("hw_native") and bt is not None and nat is not None:
        return "binary translation" if bt < nat else "hardware"
    if bt is not None and hw is not None:
        return "binary translation" if bt < hw else "hardware" if hw < bt else "tie"
    return "?"


def _calibrated_rows(profile) -> dict:
    """Published rows that a profile figure was derived from: row -> [event, ...]."""
    out: dict = {}
    for ev, f in profile.events.items():
        if f.derived:
            row = f.derived.split(":")[0].split(",")[0].strip()
            out.setdefault(row, []).append(ev)
    return out


def _top(parts: dict, k=2) -> str:
    tot = sum(parts.values()) or 1.0
    items = sorted(parts.items(), key=lambda kv: -kv[1])[:k]
    return ", ".join(f"{e} {100 * v / tot:.0f} %" for e, v in items)


def section_published(res, profiles, published, notes) -> tuple:
    a = published.get("adams06", {})
    pname = a.get("profile", "p4-2006")
    prof = profiles.get(pname) or next(iter(profiles.values()))
    hw_t = _hw_name(res)
    bt_t = "binary-translation"
    res._profile = prof
    calib = _calibrated_rows(prof)
    out = ["## 5. Published comparison: Adams & Agesen (2006)", "",
           f"Our modeled cycles per operation under profile `{prof.name}` ({prof.machine}) beside the nanobenchmarks "
           f"of {a.get('cite', 'Adams & Agesen (2006)')}.  Ours: native, binary translation (`{bt_t}`) and hardware "
           f"assist (`{hw_t or 'no hardware-assisted technique measured'}`) on one of our specs; theirs: native, "
           "VMware's software VMM and its VT-x VMM on a Pentium 4.  The winner is the cheaper of the two "
           "virtualizing techniques.  "
           + (f"Their figures: {a['note']}" if a.get("note") else ""), ""]
    rows, whys, agree, both = [], [], 0, 0
    for w, wl in WORKLOADS.items():
        if wl.kind != "nano" or not wl.paper:
            continue
        prow = a.get("rows", {}).get(w, {})
        p_nat, p_bt, p_hw, shown = _paper_values(prow)
        p_win = _paper_winner(prow)
        tag = f" (calibrates {', '.join(calib[wl.paper])})" if wl.paper in calib else ""
        if not any(m.workload == w for m in res.measurements.values()):
            reasons = sorted({c.get("reason", "") for (s, t, ww), c in res.cells.items() if ww == w and c.get("reason")})
            why = reasons[0] if len(reasons) == 1 else "; ".join(reasons[:2])
            rows.append([wl.label + tag, "–", "n/a", "n/a", "n/a", *shown, "–", p_win])
            whys.append(f"- **{wl.label}**: not measured on any spec: {why or 'no spec has the feature'}.")
            continue
        for spec, hw_spec, vals in _comparison_groups(res, w, bt_t, hw_t):
            cells = []
            for key in ("native", "bt", "hw"):
                mm, t = vals[key]
                if mm is not None:
                    cells.append(fmt_num(mm[0]))
                elif t is None:
                    cells.append("n/a")
                else:
                    st, why = res.status(hw_spec if key == "hw" else spec, t, w)
                    cells.append(notes.mark(why) if st == "n/a" else st)
            b, h = vals["bt"][0], vals["hw"][0]
            if b is not None and h is not None:
                o_win = "binary translation" if b[0] < h[0] else "hardware" if h[0] < b[0] else "tie"
                both += 1
                agree += o_win == p_win
            else:
                o_win = "— (only one measured)" if (b or h) else "—"
            label = spec if hw_spec == spec else f"{spec} (HW: {hw_spec})"
            rows.append([wl.label + tag, label, *cells, *shown, o_win, p_win])
            whys.append(f"- **{wl.label}, {label}**: " + _why(wl, spec, vals, prow, o_win, p_win, calib, res, w,
                                                                hw_spec, notes))
    out += _table(["nanobenchmark", "our spec", "ours: native", "ours: BT", "ours: HW", "A&A: native", "A&A: BT",
                   "A&A: HW", "winner (ours)", "winner (A&A)"], rows)
    out += ["", "### Why we differ", "",
            "Four differences hold for every row.  (1) The model charges one cycle for every instruction run "
            "directly, whatever it is, so the cost of the operation itself on real hardware (a serializing "
            "control-register write, a port read that reaches a device) is not in our native column.  (2) Our "
            "guests are small machines, not x86: a system call here is a trap through a few dozen instructions of "
            "a minimal kernel, and an exception stands in for the division by zero (see the workload notes).  "
            "(3) Our binary translator translates what the classifier flags as unsafe or privileged in supervisor "
            "mode; an instruction it judges safe runs directly and, if the placement makes it trap, goes through "
            "trap and emulate.  (4) Every translated block our binary translator enters counts as a translation-cache "
            "lookup, chained or not, while VMware's chains direct jumps and looks up only indirect ones such as a "
            "return.  Rows marked *calibrates* are those a profile figure was derived from, so agreement there is by "
            "construction.", ""] + whys + [""]
    out += section_wall_vs_model(res, profiles, bt_t, hw_t)
    kvm = published.get("kvm_unit_tests")
    if kvm:
        out += [f"kvm-unit-tests' `x86/vmexit` ({kvm.get('cite', '')}) measures hardware-assisted exits under KVM: "
                + ", ".join(f"{k} {fmt_num(v)}" for k, v in kvm.get("rows", {}).items())
                + " cycles; the `modern` profile takes its hypercall and emulation figures from the same commit.", ""]
    out += section_shadow_vs_nested(res, published)
    return out, (agree, both)


PAGING_WORKLOADS = ("pgfault", "ptemod")


def _mmu_of(m) -> str | None:
    """How a measurement's VMM virtualized the MMU, read from its exact counters: "shadow" (it built
    shadow tables), "nested" (the hardware's second stage exited on a violation), else None."""
    c = C.flatten(m.counters)
    if c.get("shadow_builds", 0) > 0:
        return "shadow"
    if c.get("exits.vmexit:ept_violation", 0) > 0:
        return "nested"
    return None


def section_shadow_vs_nested(res, published) -> list:
    """Shadow against nested paging per paging workload and spec, in modeled cycles, beside VMware's
    published gains of nested over shadow paging.  Each side is the cheapest technique measured with
    it; a side nobody measured says so rather than showing a figure."""
    from ..vmm import TECHNIQUES  # which techniques implement nested paging at all

    prof = prof_of(res)
    nested_impl = sorted(t for t, cls in TECHNIQUES.items() if "nested" in cls.mmu_kinds)
    out = ["### Shadow against nested paging", "",
           "Modeled cycles per operation (profile `" + prof.name + "`) of the cheapest technique that ran the "
           "paging workloads on shadow page tables and on nested paging, on each spec that runs them under "
           "either.  Which a run used is read from its counters (shadow-table builds; EPT-violation exits).", ""]
    rows = []
    for w in PAGING_WORKLOADS:
        by_spec: dict = {}
        for m in res.measurements.values():
            if m.workload == w:
                by_spec.setdefault(m.spec, []).append(m)
        for spec, ms in sorted(by_spec.items()):
            best = {}
            for m in ms:
                kind = _mmu_of(m)
                if kind is not None:
                    cyc = m.modeled(prof)[0]
                    if kind not in best or cyc < best[kind][0]:
                        best[kind] = (cyc, m.technique)
            if not best:
                continue
            nat = res.get(spec, "native", w)
            cells = [fmt_num(nat.modeled(prof)[0]) if nat is not None else "–"]
            for kind in ("shadow", "nested"):
                cells.append(f"{fmt_num(best[kind][0])} ({best[kind][1]})" if kind in best else "not measured")
            ratio = (fmt_num(best["shadow"][0] / best["nested"][0]) + "×"
                     if {"shadow", "nested"} <= set(best) and best["nested"][0] else "–")
            rows.append([w, spec, *cells, ratio])
    if rows:
        out += _table(["workload", "spec", "native", "shadow paging", "nested paging", "shadow / nested"], rows)
    else:
        out.append("No paging workload ran under shadow or nested paging in this run.")
    out.append("")
    out.append("Nested paging is implemented by: " + (", ".join(f"`{t}`" for t in nested_impl) if nested_impl
                                                       else "no technique yet (no VMM declares it in `mmu_kinds`)")
               + ".")
    vm = [(k, v) for k, v in published.items() if k.startswith("vmware_") and isinstance(v, dict)]
    if vm:
        out += ["", "VMware's published gains of nested over shadow paging, on their own VMM (largest stated; "
                "per-benchmark figures are only in the papers' charts):", ""]
        prow = []
        for key, v in sorted(vm):
            r = v.get("rows", {})
            cite = v.get("cite", key)
            year = re.search(r"\b(?:19|20)\d\d\b", cite)
            title = cite.split(",")[1].strip() if cite.count(",") >= 1 else key
            prow.append([f"{cite.split(',')[0]}: {title}" + (f" ({year.group(0)})" if year else ""),
                         *(f"up to {r[n]['nested_gain_max_pct']} %" if n in r else "–"
                           for n in ("mmu_benchmarks", "mmu_microbenchmarks")),
                         f"[source]({v['url']})" if v.get("url") else "–"])
        out += _table(["paper", "MMU-intensive benchmarks", "MMU microbenchmarks", "source"], prow)
    return out + [""]


def _comparison_groups(res, w, bt_t, hw_t):
    """One comparison row per guest library: ``(spec, hw spec, {native|bt|hw: ((total, parts) | None, technique)})``.

    Specs that extend one another share a guest library and so run the very
    same workload programs: binary translation is measured on the base spec
    (pg74) and hardware assist on its extension (pg74_vt), and the row sets
    them side by side.
    """
    groups: dict = {}
    for m in res.measurements.values():
        if m.workload == w:
            groups.setdefault(m.stub or m.spec, []).append(m)
    for stub, ms in groups.items():
        specs = list(dict.fromkeys(m.spec for m in ms))
        bt_specs = [m.spec for m in ms if m.technique == bt_t]
        base = stub if stub in bt_specs else bt_specs[0] if bt_specs else stub if stub in specs else specs[0]
        hw = [m for m in ms if m.kind == "hardware"]
        hw_spec = hw[0].spec if hw else base
        vals = {}
        for key, spec, t in (("native", base, "native"), ("bt", base, bt_t),
                             ("hw", hw_spec, hw[0].technique if hw else hw_t)):
            m = res.get(spec, t, w) if t else None
            vals[key] = (m.modeled(prof_of(res)) if m is not None else None, t)
        yield base, hw_spec, vals


def wall_vs_model(res, profiles, bt_t, hw_t) -> list:
    """Every workload where binary translation and hardware assist both ran (on one guest library):
    ``(workload, spec, hw spec, wall winner, {profile: model winner})``.  The cost model is meant to
    say which technique costs less; where it and the measured wall times name different winners,
    one of them is wrong about what dominates, and the report says where."""
    rows = []
    saved = getattr(res, "_profile", None)
    res._profile = saved or next(iter(profiles.values()))  # _comparison_groups models under it: unused here
    for w in WORKLOADS:
        for spec, hw_spec, _ in _comparison_groups(res, w, bt_t, hw_t):
            b, h = res.get(spec, bt_t, w), None
            hw = [m for m in res.measurements.values() if m.workload == w and m.spec == hw_spec and m.kind == "hardware"]
            if hw:
                h = hw[0]
            if b is None or h is None:
                continue
            wall = _winner(b.median, h.median)
            model = {}
            for name, prof in profiles.items():
                res._profile = prof
                model[name] = _winner(b.modeled(prof)[0], h.modeled(prof)[0])
            rows.append((w, spec, hw_spec, wall, model))
    res._profile = saved
    return rows


def _winner(bt, hw) -> str:
    return "binary translation" if bt < hw else "hardware" if hw < bt else "tie"


def section_wall_vs_model(res, profiles, bt_t, hw_t) -> list:
    rows = wall_vs_model(res, profiles, bt_t, hw_t)
    out = ["### Wall time against the model", "",
           "Wherever binary translation and hardware assist both ran the same workload program (one guest "
           "library), the cheaper of the two in measured wall time on this machine beside the cheaper in modeled "
           "cycles under each profile.", ""]
    if not rows:
        return out + ["No workload ran under both.", ""]
    names = list(profiles)
    table = []
    for w, spec, hw_spec, wall, model in rows:
        table.append([_label(w), f"{spec} (HW: {hw_spec})", wall] + [model[n] for n in names])
    out += _table(["workload", "specs", "wall time"] + [f"model: `{n}`" for n in names], table) + [""]
    for n in names:
        agree = sum(1 for r in rows if r[4][n] == r[3])
        out.append(f"- `{n}`: the model names the wall-time winner in {agree} of {len(rows)} workloads"
                   + ("." if agree == len(rows) else
                      f"; not in {', '.join(f'{_label(r[0])} ({r[1]})' for r in rows if r[4][n] != r[3])}."))
    first = profiles[names[0]]
    apart = [r for r in rows if any(r[4][n] != r[3] for n in names)]
    if apart:
        out += ["", f"Where they differ, the time each technique adds to native per operation, over the events "
                    f"the model charges for it (`{names[0]}`):", ""]
        out += [f"- {_apart(res, r, bt_t, first)}" for r in apart]
    return out + [""]


def _apart(res, row, bt_t, profile) -> str:
    """Why the wall time and the model name different winners on one row, from the row's own figures.

    The model's events are what real hardware pays: a VM exit is thousands of
    cycles of microcode, a translated callout a few dozen.  Here both are
    software, so an event costs what the compiled path that serves it costs.
    Setting the measured nanoseconds per event beside the modeled cycles per
    event shows which side of that gap decides the row, and a difference of
    medians smaller than their spread is named as such rather than read as a
    winner.
    """
    w, spec, hw_spec = row[0], row[1], row[2]
    bits = []
    cells = ((("BT", res.get(spec, bt_t, w), res.get(spec, "native", w))),
             ("HW", next(m for m in res.measurements.values()
                         if m.workload == w and m.spec == hw_spec and m.kind == "hardware"),
              res.get(hw_spec, "native", w)))
    medians = []
    for label, m, nat in cells:
        total, parts = m.modeled(profile)
        charged = {e: n for e, n in m.events().items() if n and e != "instruction"}
        medians.append((m.median, m.stdev))
        if nat is None:
            bits.append(f"{label} {fmt_time(m.median)} per operation (no native run of {m.spec} to subtract)")
            continue
        added = m.median - nat.median
        events = sum(charged.values())
        what = ", ".join(f"{fmt_num(n)} {e}" for e, n in sorted(charged.items())) or "no events"
        per = f", {fmt_time(added / events)} per event against {fmt_num((total - parts.get('instruction', 0)) / events)} " \
              f"modeled cycles" if events else ""
        bits.append(f"{label} adds {fmt_time(added)} over {what}{per}")
    (b, bs), (h, hs) = medians
    close = abs(b - h) <= max(bs, hs)
    tail = ("; the two medians differ by less than the larger spread of their values, so the wall time names no "
            "winner here" if close else "")
    return f"**{_label(w)}, {spec} (HW: {hw_spec})**: " + "; ".join(bits) + tail + "."


def prof_of(res):
    return res._profile


def _why(wl, spec, vals, prow, o_win, p_win, calib, res, w, hw_spec, notes) -> str:
    bits = []
    nat = vals["native"][0]
    p_nat = prow.get("native")
    if nat is not None and p_nat is not None and (nat[0] < 0.5 * p_nat or nat[0] > 2 * p_nat):
        bits.append(f"native {fmt_num(nat[0])} against {fmt_num(p_nat)}: ours is {_top(nat[1])}")
    for key, label in (("bt", "BT"), ("hw", "HW")):
        mm, t = vals[key]
        if mm is not None:
            bits.append(f"our {label} is {_top(mm[1])}")
        elif t is not None:
            st, why = res.status(hw_spec if key == "hw" and hw_spec else spec, t, w)
            if why:
                bits.append(f"no {label} on this spec ({notes.mark(why)})")
        else:
            bits.append(f"{label}: no hardware-assisted technique was measured")
    if o_win not in ("—", "— (only one measured)"):
        bits.append("the winner agrees" if o_win == p_win else f"the winner differs ({o_win} here, {p_win} there)")
    if wl.paper in calib:
        bits.append(f"calibration row ({', '.join(calib[wl.paper])})")
    return "; ".join(bits) + "."


def section_profiles(profiles, sources) -> list:
    out = ["## 6. The cost model", "",
           "Modeled cycles = Σ events per operation × cycles per event.  Which counter is which event "
           "(`vverify/bench/costmodel.py`): instructions run directly are `instruction`; traps delivered to the "
           "guest's handler `exception`; under a software VMM each real trap to the VMM is a `trap`, the "
           "instruction emulated after it an `emulate` (unless the VMM only forwarded a trap to the guest), "
           "instructions emulated without a trap `callout` (binary translation) or `interpret` (hybrid, "
           "interpretation), translations `translate` and translation-cache hits `tc_lookup`; under hardware assist "
           "VM exits are `vm_exit` and what the VMM emulates after them `emulate`; hypercalls are `hypercall`.  Core "
           "exits that only end a run or a slice of direct execution cost nothing.", ""]
    names = list(profiles)
    rows = []
    for e in C.EVENTS:
        rows.append([f"`{e}`"] + [fmt_num(profiles[n].cycles(e)) for n in names])
    out += _table(["event"] + [f"`{n}`" for n in names], rows) + [""]
    for n, p in profiles.items():
        out += [f"**`{n}`**: {p.machine}.  {p.note}", ""]
        own = {}
        for e, f in p.events.items():
            own.setdefault((f.cycles, f.source, f.confirmed, f.note, f.derived), []).append(e)
        for (cyc, src, conf, note, derived), evs in own.items():
            if p.inherits and all(profiles[p.inherits].events.get(e) == p.events[e] for e in evs):
                continue
            s = sources.get(src, {}).get("cite", src)
            extra = f" Derived from the published {derived}." if derived else ""
            out.append(f"- `{'`, `'.join(evs)}` = {fmt_num(cyc)}: {s}{'' if conf else ' (not confirmed)'}."
                       f"{extra} {note}".rstrip())
        if p.inherits:
            out.append(f"- every other figure as in `{p.inherits}`.")
        out.append("")
    out += ["Sources:", ""]
    for key, s in sources.items():
        url = f" <{s['url']}>" if s.get("url") else ""
        out.append(f"- `{key}`: {s.get('cite', '')}.{url} {s.get('note', '')}".rstrip())
    return out + [""]


def section_na(res, notes) -> list:
    out = ["## 7. Not measured", "",
           "Every cell that was not measured, grouped by reason.  A technique whose requirements the spec does not "
           "meet, a spec without a guest library, and a workload the machine has no feature for are reported, "
           "never dropped.", ""]
    by: dict = {}
    for (s, t, w), c in res.cells.items():
        if c["status"] in ("n/a", "error"):
            by.setdefault((c["status"], c.get("reason", "")), []).append(f"{s}/{t}/{_label(w)}")
    if not by:
        return out + ["Nothing: every cell was measured.", ""]
    for (st, why), cs in sorted(by.items()):
        head = "failed" if st == "error" else "n/a"
        shown = ", ".join(cs[:12]) + (f" and {len(cs) - 12} more" if len(cs) > 12 else "")
        out.append(f"- **{head}** ({len(cs)}): {why}: {shown}")
    return out + [""]


def section_workloads(res) -> list:
    from . import workloads as W

    out = ["## 8. Workloads", "",
           "Guest programs in each spec's own assembly on the guest library (`specs/<isa>/bench/`), repeating one "
           "operation N times.", ""]
    rows = [[w.label, w.kind, w.operation, w.paper or "–"] for w in W.WORKLOADS.values() if w.name in res.workloads()]
    out += _table(["workload", "kind", "one operation", "Adams & Agesen row"], rows) + [""]
    notes = []
    for spec in res.specs():
        for w in res.workloads():
            try:
                src = W.source(spec, w)
            except KeyError:
                continue
            if src.applicable and src.note:
                notes.append(f"- {spec}, {_label(w)}: {src.note}.")
    return out + notes + [""]


def summary(res, profiles, agreement, walls=()) -> list:
    out = ["## Summary", ""]
    techs = [t for t in res.techniques() if t != "native"]
    for spec in res.specs():
        ratios = {}
        for t in techs:
            rs = [m.median / n.median for w in res.workloads()
                  if (m := res.get(spec, t, w)) is not None and (n := res.get(spec, "native", w)) is not None]
            if rs:
                ratios[t] = statistics.geometric_mean(rs)
        if ratios:
            order = sorted(ratios.items(), key=lambda kv: kv[1])
            out.append(f"- **{spec}**: geometric-mean wall-time overhead over its workloads: "
                       + ", ".join(f"{t} {fmt_ratio(r)}" for t, r in order) + ".")
    fr = [f for m in res.measurements.values() if m.workload_kind == "nano" and m.technique != "native"
          and (f := m.outside_fraction()) is not None]
    if fr:
        out.append(f"- Nanobenchmarks under a VMM spend {100 * min(fr):.1f}–{100 * max(fr):.1f} % of their wall time "
                   "outside the guest: on this emulator the VMM and the crossings dominate, as the exits would on "
                   "hardware.")
    if walls:
        counts = ", ".join(f"`{n}` {sum(1 for r in walls if r[4][n] == r[3])}" for n in profiles)
        out.append(f"- Wall time against the model: where binary translation and hardware assist both ran a "
                   f"workload ({len(walls)}), the model names the cheaper of the two in wall time in: {counts} "
                   "(section 5).")
    agree, both = agreement
    if both:
        out.append(f"- Published comparison: where both binary translation and hardware assist were measured, the "
                   f"cheaper of the two under the model agrees with Adams & Agesen's in {agree} of {both} rows.")
    else:
        out.append("- Published comparison: no spec here ran both binary translation and hardware assist on a "
                   "nanobenchmark, so no row compares winners on both sides; the table sets what was measured beside "
                   "the published figures.")
    return out + [""]


def render(paths, outdir: Path) -> tuple:
    """``(markdown, results)`` for the files; plots are drawn into ``outdir``."""
    res = load(paths)
    if not res.measurements:
        raise ValueError(f"{', '.join(map(str, paths))}: no vverify benchmarks in the file(s)")
    profiles = C.load_profiles()
    sources = C.load_sources()
    published = C.load_published()
    notes = Notes()
    head = ["# Benchmarks: virtualization techniques on the emulation core", "",
            f"Generated by `vverify report` from {', '.join(f'`{p}`' for p in paths)}.  Regenerate:", "",
            REGENERATE, ""]
    pub, agreement = section_published(res, profiles, published, notes)
    body = (section_run(res) + section_overhead(res, notes) + section_outside(res, notes) + section_counters(res)
            + section_modeled(res, profiles) + pub + section_profiles(profiles, sources) + section_na(res, notes)
            + section_workloads(res))
    walls = wall_vs_model(res, profiles, "binary-translation", _hw_name(res))
    text = "\n".join(head + summary(res, profiles, agreement, walls) + body + notes.lines()) + "\n"
    return text, res, profiles


def write_report(paths, outdir) -> list:
    """Write REPORT.md and the PNG plots into ``outdir``; returns the paths written."""
    from ..files import write_atomic

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    rel = [Path(p) for p in paths]
    text, res, profiles = render(rel, outdir)
    written = []
    if plots.overhead(res, outdir / PLOTS["overhead"]):
        written.append(outdir / PLOTS["overhead"])
    if plots.events(res, outdir / PLOTS["events"]):
        written.append(outdir / PLOTS["events"])
    first = next(iter(profiles.values()))
    if plots.cycles(res, first, outdir / PLOTS["cycles"]):
        written.append(outdir / PLOTS["cycles"])
    write_atomic(outdir / "REPORT.md", text)
    return [outdir / "REPORT.md"] + written


__all__ = ["render", "write_report"]
