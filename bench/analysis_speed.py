"""Speed of the per-frame analysis: ``particle_table`` + ``frame_metrics`` at 100 / 1,000 / 5,000 particles.

Run: ``.venv/bin/python -m nanolive.bench.analysis_speed [--repeats N] [--seed S] [--json]``; prints a
table (or, with ``--json``, one JSON document). Each case is a synthetic frame of non-overlapping discs
(diameters 40-66 % of the grid pitch, jittered square grid, so some touch after rounding) with a noisy
intensity image; the pixel size is 0.5 nm. Times are per frame on one core (one Python thread; numpy and
scipy run these calls single-threaded), as the thread's CPU time (less sensitive to other processes on a
shared machine than wall time, which is reported too): minimum, median and 90th percentile of
``repeats`` runs after one warm-up run. The calls of one case are interleaved (one run of each per
repeat), so load that comes and goes hits them alike.

Measured: ``particle_table`` (label image -> table), ``frame_metrics`` (table -> the per-frame set,
Delaunay-based keys included), ``frame_metrics_lean`` (``MetricsConfig(tessellation=False)``), ``delaunay``
(the triangulation of the centroids alone as ``frame_metrics`` makes it: ``analysis.delaunay``, numba
compiled, compiled or loaded from numba's cache by ``warm_up()`` before any timing), ``qhull`` (scipy's
Qhull triangulation of the same points, which it replaces) and ``total`` (``particle_table`` then
``frame_metrics``, one call).

Yardstick: ``reference_sort_1m_ms`` is the thread-CPU time of ``np.sort`` on 1e6 random float64 in the
same run (minimum and median); divide by it to compare runs made on different or differently loaded
machines. The 1-minute load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable

import numba
import numpy as np
import scipy
from nanolive.analysis import MetricsConfig, frame_metrics, particle_table
from nanolive.analysis.delaunay import delaunay, warm_up
from nanolive.bench.machine import cpu_model
from scipy.spatial import Delaunay

PIXEL_SIZE_NM = 0.5
CASES: tuple[tuple[int, int], ...] = ((100, 512), (1000, 512), (5000, 1024), (1000, 2048))
TARGET_MS = 5.0
TARGET_PARTICLES = 1000


def disc_scene(n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Label image (int32, labels 1..n) of n discs on a jittered grid, and a noisy image (float32)."""
    side = int(np.ceil(np.sqrt(n)))
    pitch = size / side
    labels = np.zeros((size, size), dtype=np.int32)
    cells = np.stack(np.divmod(np.arange(n), side), axis=1)
    centres = (cells + 0.5) * pitch + rng.uniform(-0.15, 0.15, (n, 2)) * pitch
    radii = rng.uniform(0.2, 0.33, n) * pitch
    for k, ((cy, cx), r) in enumerate(zip(centres, radii, strict=True), start=1):
        r0, r1 = int(max(cy - r - 1, 0)), int(min(cy + r + 2, size))
        c0, c1 = int(max(cx - r - 1, 0)), int(min(cx + r + 2, size))
        yy, xx = np.mgrid[r0:r1, c0:c1]
        labels[r0:r1, c0:c1][(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = k
    image = rng.normal(100.0, 10.0, labels.shape).astype(np.float32) + 50.0 * (labels > 0)
    return labels, image


def summarise(seconds: list[float]) -> dict[str, float]:
    """Minimum, median and 90th percentile of durations, ms."""
    ms = np.array(seconds) * 1e3
    return {
        "min_ms": round(float(ms.min()), 3),
        "median_ms": round(float(np.median(ms)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
    }


def time_interleaved(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Thread-CPU and wall time of every call, ``repeats`` rounds of one run each after a warm-up."""
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    wall: dict[str, list[float]] = {name: [] for name in calls}
    for fn in calls.values():
        fn()
    for _ in range(repeats):
        for name, fn in calls.items():
            w0, c0 = time.perf_counter(), time.thread_time()
            fn()
            cpu[name].append(time.thread_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    return {name: {"cpu": summarise(cpu[name]), "wall": summarise(wall[name])} for name in calls}


def run_case(n: int, size: int, repeats: int, rng: np.random.Generator) -> dict:
    """Time particle_table, frame_metrics (full and lean), the triangulation (ours and Qhull's) and
    the total on one frame."""
    labels, image = disc_scene(n, size, rng)
    table = particle_table(labels, image, PIXEL_SIZE_NM)
    lean = MetricsConfig(tessellation=False)
    points = np.column_stack([table["x"], table["y"]])
    calls: dict[str, Callable[[], object]] = {
        "particle_table": lambda: particle_table(labels, image, PIXEL_SIZE_NM),
        "frame_metrics": lambda: frame_metrics(table, labels.shape, PIXEL_SIZE_NM),
        "frame_metrics_lean": lambda: frame_metrics(
            table, labels.shape, PIXEL_SIZE_NM, config=lean
        ),
        "delaunay": lambda: delaunay(points),
        "qhull": lambda: Delaunay(points),
        "total": lambda: frame_metrics(
            particle_table(labels, image, PIXEL_SIZE_NM), labels.shape, PIXEL_SIZE_NM
        ),
    }
    return {
        "particles": int(table["label"].size),
        "shape": [size, size],
        "particle_pixels": int(np.count_nonzero(labels)),
        "times": time_interleaved(calls, repeats),
    }


def reference_ms(rng: np.random.Generator, repeats: int = 15) -> dict[str, float]:
    """Thread-CPU time of np.sort on 1e6 random float64, ms (a machine-speed yardstick)."""
    values = rng.random(1_000_000)
    return time_interleaved({"sort": lambda: np.sort(values)}, repeats)["sort"]["cpu"]


def render(report: dict) -> str:
    """The report as a plain-text table of thread-CPU times (min / median, ms)."""
    m = report["machine"]
    ref = report["reference_sort_1m_ms"]
    lines = [
        f"{report['benchmark']}: thread-CPU ms, min / median of {report['repeats']} runs",
        f"machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, load average (1 min) "
        f"{m['load_average_1min_before']} before, {m['load_average_1min_after']} after",
        f"yardstick np.sort(1e6 float64): {ref['min_ms']} / {ref['median_ms']} ms",
        "",
        f"{'particles':>9} {'frame':>9} | {'particle_table':>15} {'frame_metrics':>15} "
        f"{'(lean)':>13} {'(delaunay)':>13} {'(qhull)':>13} | {'total':>15}",
    ]
    for case in report["cases"]:
        t = case["times"]

        def cell(name: str, width: int, t: dict = t) -> str:
            c = t[name]["cpu"]
            return f"{c['min_ms']:.2f} / {c['median_ms']:.2f}".rjust(width)

        lines.append(
            f"{case['particles']:>9} {case['shape'][0]:>7}^2 | {cell('particle_table', 15)} "
            f"{cell('frame_metrics', 15)} {cell('frame_metrics_lean', 13)} "
            f"{cell('delaunay', 13)} {cell('qhull', 13)} | {cell('total', 15)}"
        )
    lines.append("")
    lines.extend(f"{k}: {v}" for k, v in report["target_check"].items())
    return "\n".join(lines)


def target_check(cases: list[dict]) -> dict[str, str]:
    """Whether the issue's target (<= 5 ms at 1,000 particles, one core) is met, per part."""
    out: dict[str, str] = {}
    case = next(
        (c for c in cases if c["particles"] == TARGET_PARTICLES and c["shape"][0] == 512), None
    )
    if case is None:
        return out
    for name in ("frame_metrics", "frame_metrics_lean", "particle_table", "total"):
        c = case["times"][name]["cpu"]
        verdict = (
            "met"
            if c["median_ms"] <= TARGET_MS
            else ("met at the minimum only" if c["min_ms"] <= TARGET_MS else "not met")
        )
        out[f"{name} <= {TARGET_MS:g} ms at {TARGET_PARTICLES} particles"] = (
            f"{verdict} (min {c['min_ms']:.2f}, median {c['median_ms']:.2f} ms)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every case and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per measurement")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic frames")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    rng = np.random.default_rng(args.seed)
    warm_up()
    load_before = round(os.getloadavg()[0], 2)
    reference = reference_ms(rng)
    cases = [run_case(n, size, args.repeats, rng) for n, size in CASES]
    report = {
        "benchmark": "nanolive.analysis per-frame set (particle_table + frame_metrics)",
        "target": f"<= {TARGET_MS:g} ms at {TARGET_PARTICLES} particles on one core",
        "machine": {
            "cpu": cpu_model(),
            "logical_cpus": os.cpu_count(),
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "numba": numba.__version__,
        },
        "repeats": args.repeats,
        "reference_sort_1m_ms": reference,
        "cases": cases,
    }
    report["target_check"] = target_check(cases)
    print(json.dumps(report, indent=1) if args.json else render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
