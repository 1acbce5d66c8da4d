"""Benchmarks: every technique on nano and macro workloads, with exact counters and a cited cost model.

The modules, each with one job:

* :mod:`~vverify.bench.workloads`: the workloads, guest programs in each
  spec's own assembly on the guest library (``specs/<isa>/bench/``), and
  why a workload does not apply to a machine;
* :mod:`~vverify.bench.measure`: one cell (spec x technique x workload):
  applicability, calibration, the timed function, the counters;
* :mod:`~vverify.bench.script`: the pyperf script (one ``Runner``, one
  ``bench_time_func`` per cell);
* :mod:`~vverify.bench.run`: worker processes of the script, merged into one
  pyperf JSON file;
* :mod:`~vverify.bench.costmodel` with ``profiles.toml`` (cycles per event in
  named hardware profiles, each figure with its source) and
  ``published.toml`` (the published nanobenchmark results we compare with);
* :mod:`~vverify.bench.results`, :mod:`~vverify.bench.report` and
  :mod:`~vverify.bench.plots`: REPORT.md and its PNG plots from saved JSON.

``vverify bench`` and ``vverify report`` are the command-line faces; see
docs/benchmarks.md.  Importing this package imports none of them (the
emulation core compiles on first use).
"""
