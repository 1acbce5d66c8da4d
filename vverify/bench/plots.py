"""The report's figures, drawn with matplotlib's Agg backend and written atomically as PNG."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import costmodel as C
from .workloads import WORKLOADS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        _pyplot().close(fig)


def _label(w):
    return WORKLOADS[w].label if w in WORKLOADS else w


def overhead(res, path: Path) -> bool:
    """Wall-time overhead against native, per spec: workloads on x, one bar per technique (log scale)."""
    plt = _pyplot()
    specs = [s for s in res.specs() if any(m.spec == s for m in res.measurements.values())]
    techs = [t for t in res.techniques() if t != "native"]
    if not specs or not techs:
        return False
    fig, axes = plt.subplots(len(specs), 1, figsize=(10, 2.6 * len(specs)), squeeze=False)
    colors = _technique_colors(plt, techs)
    for ax, spec in zip(axes[:, 0], specs):
        wls = [w for w in res.workloads() if res.get(spec, "native", w) is not None]
        here = [t for t in techs if any(res.get(spec, t, w) is not None for w in wls)]
        width = 0.8 / max(len(here), 1)
        for i, t in enumerate(here):
            xs, ys = [], []
            for j, w in enumerate(wls):
                m, n = res.get(spec, t, w), res.get(spec, "native", w)
                if m is not None and n is not None and n.median > 0:
                    xs.append(j + (i - (len(here) - 1) / 2) * width)
                    ys.append(m.median / n.median)
            ax.bar(xs, ys, width, color=colors[t])
        ax.set_yscale("log")
        ax.axhline(1.0, color="black", linewidth=0.6)
        ax.set_xticks(range(len(wls)), [_label(w) for w in wls])
        ax.set_ylabel("× native")
        ax.set_title(spec, loc="left", fontsize=10)
        ax.grid(axis="y", which="major", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[t]) for t in techs]
    fig.legend(handles, techs, fontsize=8, ncol=min(len(techs), 6), loc="upper center", bbox_to_anchor=(0.5, 1.0))
    fig.suptitle("Overhead per technique and workload: wall time per operation / native", y=1.03)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _save(fig, path)
    return True


def _technique_colors(plt, techs) -> dict:
    cmap = plt.get_cmap("tab10")
    return {t: cmap(i % 10) for i, t in enumerate(techs)}


def events(res, path: Path) -> bool:
    """Exits and traps per operation: traps to the VMM by cause, VM exits and hypercalls, and traps the guest saw."""
    plt = _pyplot()
    specs = [s for s in res.specs() if any(m.spec == s for m in res.measurements.values())]
    if not specs:
        return False
    fig, axes = plt.subplots(len(specs), 1, figsize=(12, 3.2 * len(specs)), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, spec in zip(axes[:, 0], specs):
        ms = [m for w in res.workloads() for t in res.techniques() if (m := res.get(spec, t, w)) is not None]
        keys = sorted({k for m in ms for k, v in m.per_op.items()
                       if v > 0 and (k.startswith("traps.") or k in ("exits.vmexit", "hypercalls"))})
        bottom = [0.0] * len(ms)
        for i, k in enumerate(keys):
            vals = [m.per_op.get(k, 0.0) for m in ms]
            name = k.replace("traps.", "trap: ").replace("exits.vmexit", "VM exit").replace("hypercalls", "hypercall")
            ax.bar(range(len(ms)), vals, 0.7, bottom=bottom, label=name, color=cmap(i % 10))
            bottom = [b + v for b, v in zip(bottom, vals)]
        refl = [sum(v for k, v in m.per_op.items() if k.startswith("reflected.")) for m in ms]
        ax.scatter(range(len(ms)), refl, marker="_", s=120, color="black", label="delivered to the guest", zorder=3)
        ax.set_xticks(range(len(ms)), [f"{_label(m.workload)}\n{_abbrev(m.technique)}" for m in ms], fontsize=6)
        ax.set_ylabel("per operation")
        ax.set_title(f"{spec}: traps to the VMM by cause, VM exits and hypercalls", loc="left", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
    return True


def _abbrev(t: str) -> str:
    return {"native": "nat", "trap-and-emulate": "T&E", "hybrid": "hyb", "interpretation": "int",
            "binary-translation": "BT"}.get(t, t[:5])


def cycles(res, profile, path: Path) -> bool:
    """Modeled cycles per nanobenchmark operation, stacked by event, under one profile (log scale)."""
    plt = _pyplot()
    nano = [w for w in res.workloads() if WORKLOADS.get(w) and WORKLOADS[w].kind == "nano"]
    rows = [(s, w) for s in res.specs() for w in nano if any(res.get(s, t, w) for t in res.techniques())]
    if not rows:
        return False
    techs = res.techniques()
    ncols = min(6, len(rows))
    nrows = -(-len(rows) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols, 3.0 * nrows), squeeze=False, sharey=True)
    cmap = plt.get_cmap("tab10")
    colors = {e: cmap(i % 10) for i, e in enumerate(C.EVENTS)}
    seen = set()
    for ax in axes.flat[len(rows):]:
        ax.set_visible(False)
    for ax, (spec, w) in zip(axes.flat, rows):
        ms = [m for t in techs if (m := res.get(spec, t, w)) is not None]
        bottom = [0.0] * len(ms)
        for e in C.EVENTS:
            vals = [m.modeled(profile)[1].get(e, 0.0) for m in ms]
            if any(vals):
                ax.bar(range(len(ms)), vals, 0.7, bottom=bottom, color=colors[e],
                       label=e if e not in seen else None)
                seen.add(e)
                bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_yscale("log")
        ax.set_xticks(range(len(ms)), [_abbrev(m.technique) for m in ms], fontsize=7, rotation=60)
        ax.set_title(f"{_label(w)}, {spec}", fontsize=8)
        ax.grid(axis="y", which="major", alpha=0.3)
    for r in range(nrows):
        axes[r, 0].set_ylabel("cycles per operation")
    fig.suptitle(f"Modeled cycles per nanobenchmark operation, by event (profile {profile.name}; log scale)", y=1.0)
    fig.legend(fontsize=7, loc="lower center", ncol=len(seen), bbox_to_anchor=(0.5, -0.04))
    fig.tight_layout()
    _save(fig, path)
    return True


__all__ = ["cycles", "events", "overhead"]
