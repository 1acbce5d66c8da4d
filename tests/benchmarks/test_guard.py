"""The hot-path guard's verdicts (benchmarks/guard.py), on figures made up for the purpose.

Measuring takes minutes and depends on the machine, so what is tested here is
what the guard concludes from figures: which drop is a regression, which one
the side-by-side run shows to be load, and that the side-by-side run really
alternates the two trees.
"""

from __future__ import annotations

import pytest

from benchmarks import guard


def _figs(**values):
    better = {"core_vs_unicorn": guard.HIGHER_IS_BETTER}
    return {"figures": {k.replace("__", "."): {"value": v, "better": better.get(k, guard.LOWER_IS_BETTER),
                                               "unit": "u"} for k, v in values.items()}}


def test_a_drop_beyond_the_tolerance_is_a_regression_in_either_direction_of_better():
    old = _figs(core_vs_unicorn=2.0, exit_round_trip=100.0, cost_per_event__x=50.0)
    new = _figs(core_vs_unicorn=1.7, exit_round_trip=105.0, cost_per_event__x=40.0, cost_per_event__y=9.0)
    rows = {r[0]: r[4] for r in guard.compare(old, new, 0.10)}
    assert rows == {"core_vs_unicorn": "REGRESSION", "exit_round_trip": "ok", "cost_per_event.x": "better",
                    "cost_per_event.y": "new"}


def test_the_second_run_keeps_the_better_figure_of_each():
    a = _figs(core_vs_unicorn=1.7, exit_round_trip=120.0)
    b = _figs(core_vs_unicorn=1.9, exit_round_trip=130.0)
    best = guard.best_of(a, b)["figures"]
    assert (best["core_vs_unicorn"]["value"], best["exit_round_trip"]["value"]) == (1.9, 120.0)


def test_a_drop_the_side_by_side_run_does_not_show_is_noise_and_one_it_shows_stays():
    rows = [("cost_per_event.x", 33.0, 39.0, -0.15, "REGRESSION"),
            ("cost_per_event.y", 10.0, 12.0, -0.17, "REGRESSION"),
            ("exit_round_trip", 100.0, 101.0, -0.01, "ok")]
    sbs = {"cost_per_event.x": {"change": -0.03}, "cost_per_event.y": {"change": -0.14}}
    assert [r[4] for r in guard.settle(rows, sbs, 0.10)] == ["noise", "REGRESSION", "ok"]


def test_the_side_by_side_run_alternates_the_trees_and_compares_them_round_by_round(tmp_path):
    calls = []
    # load rises over the run and hits both trees of a round alike: 100, 180, 170 ns at the baseline,
    # 105, 190, 170 at this tree; the rounds' ratios are 0.952, 0.947, 1.0, whose median is 100/105
    base, now = iter([100e-9, 180e-9, 170e-9]), iter([105e-9, 190e-9, 170e-9])

    def run(tree, parts, techniques, scratch, env):
        calls.append((tree, tuple(parts), tuple(techniques)))
        value = next(base) if tree == "old" else next(now)
        return {"cost_per_event.hardware-assisted": (value, 1), "core": 1e-9}

    out = guard.alternate(["cost_per_event.hardware-assisted", "core_vs_unicorn"],
                          {"baseline": ("old", None), "now": ("new", None)}, 3, run, tmp_path)
    assert [c[0] for c in calls] == ["old", "new"] * 3
    assert calls[0][1:] == (("bench", "core_mips"), ("hardware-assisted",))
    f = out["cost_per_event.hardware-assisted"]
    assert f["now"] == [105e-9, 190e-9, 170e-9] and f["change"] == pytest.approx(100 / 105 - 1)
    assert out["core_vs_unicorn"]["change"] == pytest.approx(0.0)


def test_a_tree_that_does_not_measure_a_figure_is_named(tmp_path):
    def run(tree, parts, techniques, scratch, env):
        return {} if tree == "old" else {"exit": 1e-7}

    with pytest.raises(SystemExit, match="baseline .*exit_round_trip"):
        guard.alternate(["exit_round_trip"], {"baseline": ("old", None), "now": ("new", None)}, 1, run, tmp_path)


def test_paging_on_against_off_is_a_figure_and_a_tree_without_its_benchmark_does_not_measure_it(tmp_path, monkeypatch):
    # core_paging.json's medians (seconds per guest instruction): 2.5 ns off, 4 ns on -> 0.625 of the speed
    medians = {"core_mips": {"core": 1e-9, "unicorn": 4e-9}, "core_exit": {"exit_round_trip_raw": 4e-7},
               "core_paging": {"paging_off": 2.5e-9, "paging_on": 4e-9}}
    monkeypatch.setattr(guard, "_medians", lambda path: medians[path.stem])
    files = {k: tmp_path / f"{k}.json" for k in medians}
    out = guard.figures(files)
    assert out["figures"]["paging_on_vs_off"] == {"value": 0.625, "better": guard.HIGHER_IS_BETTER,
                                                  "unit": "ratio of MIPS, same run"}
    assert (out["absolute"]["paging_on_mips"], out["absolute"]["paging_off_mips"]) == (250.0, 400.0)
    assert guard._needs("paging_on_vs_off") == ("core_paging", "paging_on")
    ran = []
    monkeypatch.setattr(guard, "_run", lambda argv, what, tree, env: ran.append(argv[1]))
    (tmp_path / "benchmarks").mkdir()  # an older tree: no benchmarks/core_paging.py
    assert guard.measure(tmp_path, 1, tree=tmp_path, parts=("core_paging",)) == {} and ran == []


def test_shadow_paging_has_its_own_figures_measured_by_their_own_bench_run(tmp_path, monkeypatch):
    """Shadow paging's events (benchmarks/guard.py, ``bench_paging``) are a hot path of their own: their
    cost per event is a figure per technique, measured on riscv32_sv32's paging workloads only, and a
    side-by-side run of one of them measures only that part."""
    costs = {"bench": {"trap-and-emulate": [40e-9]}, "bench_paging": {"trap-and-emulate": [2e-6, 8e-6]}}
    monkeypatch.setattr(guard, "_cells", lambda path, workloads, cells: costs[path.stem])
    monkeypatch.setattr(guard, "_medians", lambda path: {"core": 1e-9, "unicorn": 4e-9, "exit_round_trip_raw": 4e-7})
    parts = ("core_mips", "core_exit", "bench", "bench_paging")
    out = guard.figures({k: tmp_path / f"{k}.json" for k in parts})["figures"]
    assert out["cost_per_event.trap-and-emulate"]["value"] == 10.0  # 40 ns in 4 ns Unicorn instructions
    assert out["shadow_cost_per_event.trap-and-emulate"] == {
        "value": 1000.0, "better": guard.LOWER_IS_BETTER,  # the geometric mean of 2 and 8 us, in 4 ns
        "unit": "Unicorn instructions, geometric mean of 2 cells"}
    assert guard._needs("shadow_cost_per_event.paravirtualization") == (
        "bench_paging", "shadow_cost_per_event.paravirtualization")
    ran = []
    monkeypatch.setattr(guard, "_run", lambda argv, what, tree, env: ran.append(argv))
    guard.measure(tmp_path, 1, parts=("bench_paging",), techniques=("paravirtualization",))
    (argv,) = ran
    assert argv[argv.index("-s") + 1] == "riscv32_sv32"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-w"] == ["pgfault", "ptemod"]
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-t"] == ["native", "paravirtualization"]
