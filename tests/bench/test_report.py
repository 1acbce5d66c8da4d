"""Reports from saved JSON: REPORT.md and the PNG plots, with no re-run; pyperf reads the files."""

import subprocess
import sys
from pathlib import Path

import pytest

from vverify.bench import report, results

DATA = Path(__file__).with_name("data") / "small.json"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, report.write_report([DATA], out)


def test_report_and_plots_are_written(written):
    out, paths = written
    names = {p.name for p in paths}
    assert {"REPORT.md", "bench_overhead.png", "bench_events.png", "bench_cycles.png"} <= names
    for p in paths:
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 1000


def test_report_contents(written):
    out, _ = written
    text = (out / "REPORT.md").read_text()
    for heading in ("## Summary", "## This run", "## 1. Wall time per operation", "## 2. Where the time goes",
                    "## 3. Events per operation", "## 4. Modeled cycles", "## 5. Published comparison",
                    "### Why we differ", "## 6. The cost model", "## 7. Not measured"):
        assert heading in text, heading
    assert "vverify bench --fast" in text  # the command that produced it, and how to regenerate
    assert "no I/O instructions" in text  # n/a cells carry their reason
    assert "pg74 (HW: pg74_vt)" in text  # BT on the base spec beside hardware assist on its extension
    assert "3,223" in text and "kvm-unit-tests" in text
    assert "![Overhead per technique and workload](bench_overhead.png)" in text


def test_results_round_trip():
    res = results.load([DATA])
    m = res.get("pg74", "trap-and-emulate", "syscall")
    assert m is not None and m.per_op["traps.svc"] == 1 and m.median > 0
    assert res.status("pg74", "native", "in")[0] == "n/a"
    assert res.runs[0]["mode"] == "fast" and res.runs[0]["duration_s"] is not None


def test_pyperf_reads_and_compares_the_files():
    for cmd in (["show", str(DATA)], ["compare_to", str(DATA), str(DATA)]):
        r = subprocess.run([sys.executable, "-m", "pyperf", *cmd], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr


def test_report_command(tmp_path, capsys):
    from vverify.cli.main import main

    assert main(["report", str(DATA), "-d", str(tmp_path)]) == 0
    assert (tmp_path / "REPORT.md").is_file() and (tmp_path / "bench_overhead.png").is_file()
    assert "REPORT.md" in capsys.readouterr().out


def test_the_cost_per_event_is_the_time_over_native_per_vmm_event(written):
    """Section 2's cost per event: (median − native's) ÷ (traps + emulated + hypercalls + VM exits), per
    operation; "–" where a technique serves no event (hardware assist on pg74_vt's syscall)."""
    from vverify.bench.costmodel import vmm_events

    out, _ = written
    text = (out / "REPORT.md").read_text()
    section = text[text.index("### The cost per event"):text.index("## 3. Events per operation")]
    res = results.load([DATA])
    te, native = res.get("pg74", "trap-and-emulate", "syscall"), res.get("pg74", "native", "syscall")
    assert vmm_events(te.per_op) == 4  # the syscall trap, and what the VMM emulates of the kernel's path
    row = next(line for line in section.splitlines() if line.startswith("| pg74 | syscall |"))
    assert report.fmt_time((te.median - native.median) / 4) in row
    assert "| pg74_vt | syscall |" in section and section.split("| pg74_vt | syscall |")[1].split("\n")[0].count("–")


def test_wall_time_and_model_winners_are_set_side_by_side_and_disagreements_named():
    from vverify.bench import costmodel as C

    res = results.load([DATA])
    profiles = C.load_profiles()
    rows = report.wall_vs_model(res, profiles, "binary-translation", "hardware-assisted")
    assert {(w, spec, hw) for w, spec, hw, _, _ in rows} == {("syscall", "pg74", "pg74_vt"), ("cr8wr", "pg74", "pg74_vt")}
    for w, spec, hw, wall, model in rows:
        bt, hv = res.get(spec, "binary-translation", w).median, res.get(hw, "hardware-assisted", w).median
        assert wall == ("binary translation" if bt < hv else "hardware")
        assert set(model) == set(profiles)
    text = "\n".join(report.section_wall_vs_model(res, profiles, "binary-translation", "hardware-assisted"))
    assert "in 2 of 2 workloads." in text
    # make binary translation the faster on syscall: the wall column follows, the model does not
    res.get("pg74_vt", "hardware-assisted", "syscall").values = [1.0]
    text = "\n".join(report.section_wall_vs_model(res, profiles, "binary-translation", "hardware-assisted"))
    assert "in 1 of 2 workloads; not in syscall (pg74)." in text
    # the disagreement is explained from the row's own figures: the time each adds over native, per event
    # it is charged, beside the modeled cycles per event
    line = next(x for x in text.splitlines() if x.startswith("- **syscall, pg74 (HW: pg74_vt)**"))
    bt, nat = res.get("pg74", "binary-translation", "syscall"), res.get("pg74", "native", "syscall")
    assert f"BT adds {report.fmt_time(bt.median - nat.median)} over " in line
    assert "HW adds " in line and "per event against" in line
    assert "names no winner" not in line  # 1 s against microseconds is far outside the spread
    assert "Where they differ" not in "\n".join(
        report.section_wall_vs_model(results.load([DATA]), profiles, "binary-translation", "hardware-assisted"))


def test_shadow_against_nested_paging_is_read_from_the_counters_and_set_beside_vmwares_figures():
    """The shadow-versus-nested table takes each side from the runs' own counters (shadow-table builds,
    EPT-violation exits), keeps the cheapest technique per side, and shows VMware's published gains;
    a side no run measured is named as such, never filled."""
    from dataclasses import replace

    from vverify.bench import costmodel as C

    res = results.load([DATA])
    res._profile = C.load_profiles()["p4-2006"]
    base = res.get("pg74", "trap-and-emulate", "syscall")
    nat = res.get("pg74", "native", "syscall")
    cheap = replace(base, technique="binary-translation", workload="pgfault", counters={**base.counters, "shadow_builds": 2})
    dear = replace(base, workload="pgfault", counters={**base.counters, "shadow_builds": 1,
                                                      "emulated": 10 * base.counters["emulated"]})
    plain = replace(base, technique="hybrid", workload="pgfault")  # no shadow tables: on neither side
    res.measurements = {m.name: m for m in (dear, cheap, plain, replace(nat, workload="pgfault"))}
    published = C.load_published()
    text = "\n".join(report.section_shadow_vs_nested(res, published))
    row = next(line for line in text.splitlines() if line.startswith("| pgfault | pg74 |"))
    assert "(binary-translation)" in row and "(trap-and-emulate)" not in row and "(hybrid)" not in row
    assert row.split("|")[5].strip() == "not measured"  # the nested side: nothing ran it
    assert "up to 600 %" in text and "up to 48 %" in text and "up to 500 %" in text

    res.measurements = {m.name: m for m in (cheap, replace(base, technique="hardware-assisted", workload="pgfault",
                                                           counters={**base.counters,
                                                                     "exits": {"vmexit:ept_violation": 3}}))}
    row = next(line for line in "\n".join(report.section_shadow_vs_nested(res, published)).splitlines()
               if line.startswith("| pgfault | pg74 |"))
    assert "(hardware-assisted)" in row.split("|")[5] and row.split("|")[6].strip().endswith("×")
