"""PNG figures of a benchmark result (matplotlib, Agg backend; I/O only, no measurement here).

Each function takes the result dict of :func:`nanolive.bench.runner.run_bench` and a path, draws one
figure, writes it and returns whether there was anything to draw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIGURES: tuple[str, ...] = (
    "bench_latency_cdf.png",
    "bench_throughput.png",
    "bench_scaling.png",
    "bench_compare.png",
)


def _pyplot():  # noqa: ANN202 (matplotlib.pyplot module)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:  # noqa: ANN001 (matplotlib Figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def latency_cdf(results: dict, path: Path) -> bool:
    """Draw the end-to-end latency CDF of every live level at the live frame side."""
    plt = _pyplot()
    live = results.get("live") or {}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.set_prop_cycle(color=[plt.get_cmap("tab20")(k) for k in range(20)])
    drawn = False
    side = results["config"]["live_side_px"]
    for session in live.get("sessions", []):
        for lv in session["levels"]:
            ms = np.sort(np.asarray(lv["latencies_ms"], float))
            if lv["side_px"] != side or not ms.size:
                continue
            y = np.arange(1, ms.size + 1) / ms.size
            label = f"{session['engine']} {session['batching']} {lv['name']}"
            ax.step(ms, y, where="post", label=label)
            drawn = True
    ax.axvline(150, color="k", ls=":", lw=1, label="150 ms target")
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end latency (ms)")
    ax.set_ylabel("fraction of frames")
    ax.set_title(f"Latency CDF, {side} x {side} px frames")
    ax.legend(fontsize=6, loc="lower right")
    _save(fig, path)
    return drawn


def throughput(results: dict, path: Path) -> bool:
    """Draw achieved throughput against offered fps per live session, with engine-only rates."""
    plt = _pyplot()
    live = results.get("live") or {}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    side = results["config"]["live_side_px"]
    top = 1.0
    drawn = False
    for session in live.get("sessions", []):
        pts = [
            (lv["offered_fps"], lv["throughput_fps"] or 0.0)
            for lv in session["levels"]
            if lv["offered_fps"] is not None and lv["side_px"] == side
        ]
        if not pts:
            continue
        x, y = np.array(sorted(pts)).T
        ax.plot(x, y, "o-", label=f"{session['engine']} {session['batching']}")
        top = max(top, x.max(), y.max())
        drawn = True
    for e in live.get("engine_only", []):
        if e["side_px"] == side:
            ax.axhline(e["frames_per_s"], ls="--", lw=1, color="gray")
            ax.text(
                0.2, e["frames_per_s"], f"engine only {e['engine']} b{e['max_batch']}", fontsize=6
            )
    ax.plot([0, top], [0, top], color="k", lw=0.8, ls=":", label="offered = achieved")
    ax.set_xlabel("offered rate (frames/s)")
    ax.set_ylabel("achieved end-to-end throughput (frames/s)")
    ax.set_title(f"Throughput against offered rate, {side} x {side} px")
    ax.legend(fontsize=7)
    _save(fig, path)
    return drawn


def scaling(results: dict, path: Path) -> bool:
    """Draw engine-only/core rate against frame side, and per-frame costs against particle count."""
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    drawn = False
    curves = results.get("engine_scaling", {}).get("engines", {})
    for k, (name, rows) in enumerate(curves.items()):
        sides = [r["side_px"] for r in rows]
        fps = [r["engine_frames_per_s"] for r in rows]
        a.plot(sides, fps, "o-", color=f"C{k}", label=f"{name} engine only")
        core = [r["core_frames_per_s"] for r in rows]
        a.plot(sides, core, "s--", color=f"C{k}", label=f"{name} core")
        drawn = True
    a.set_xscale("log", base=2)
    a.set_yscale("log")
    a.set_xlabel("frame side (px)")
    a.set_ylabel("frames/s (one process)")
    a.set_title("Rate against frame size")
    a.legend(fontsize=7)
    rows = results.get("particle_scaling", {}).get("rows", [])
    if rows:
        n = [r["particles"] for r in rows]
        for key in ("measure", "track", "metrics", "total"):
            b.plot(n, [r[f"{key}_ms_per_frame"] for r in rows], "o-", label=key)
        drawn = True
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("particles per frame")
    b.set_ylabel("ms per frame")
    b.set_title("Measurement, tracking, metrics cost")
    b.legend(fontsize=7)
    _save(fig, path)
    return drawn


def compare(results: dict, path: Path) -> bool:
    """Draw frames/s against detection F1 and MOTA for every compared method."""
    plt = _pyplot()
    methods = results.get("comparison", {}).get("methods", {})
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    shown = [(name, m) for name, m in methods.items() if "_first_" not in name]
    for k, (name, m) in enumerate(shown):
        fps = m["frames_per_s"]
        color = f"C{k}"
        ax.scatter([fps], [m["detection"]["f1"]], marker="o", color=color, label=f"{name} F1")
        ax.scatter([fps], [m["tracking"]["mota"]], marker="^", color=color, label=f"{name} MOTA")
        drawn = True
    ax.legend(fontsize=6, ncol=2)
    ax.set_xscale("log")
    ax.set_xlabel("frames/s (analysis + tracking)")
    ax.set_ylabel("detection F1 (o), MOTA (^)")
    ax.set_title("Speed and accuracy on the same simulated frames")
    _save(fig, path)
    return drawn


def write_figures(results: dict, folder: Path) -> list[Path]:
    """Write every figure into ``folder``; return the paths written."""
    drawers = (latency_cdf, throughput, scaling, compare)
    paths = []
    for name, draw in zip(FIGURES, drawers, strict=True):
        path = Path(folder) / name
        draw(results, path)
        paths.append(path)
    return paths
