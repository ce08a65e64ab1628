"""Speed of the per-frame analysis: ``particle_table`` + ``frame_metrics`` at 100 / 1,000 / 5,000 particles.

Run: ``.venv/bin/python -m nanolive.bench.analysis_speed [--repeats N] [--seed S]``; prints one JSON
document. Each case is a synthetic frame of non-overlapping discs (diameters 40-66 % of the grid pitch,
jittered square grid, so some touch after rounding) with a noisy intensity image; the pixel size is
0.5 nm. Times are per frame on one core (one Python thread; numpy and scipy run these calls
single-threaded), reported as the median and 90th percentile of ``repeats`` runs after one warm-up run,
both as wall time and as the thread's CPU time (less sensitive to other processes on a shared machine).
``frame_metrics_lean`` skips the Delaunay-based metrics (``MetricsConfig(tessellation=False)``).
``reference_sort_1m_ms`` times ``np.sort`` of 1e6 random float64 in the same run: divide by it to compare
runs made on different or differently loaded machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from nanolive.analysis import MetricsConfig, frame_metrics, particle_table

PIXEL_SIZE_NM = 0.5
CASES: tuple[tuple[int, int], ...] = ((100, 512), (1000, 512), (5000, 1024), (1000, 2048))


@dataclass(frozen=True)
class Timing:
    """Median and 90th percentile of repeated runs, ms."""

    wall_median_ms: float
    wall_p90_ms: float
    cpu_median_ms: float
    cpu_p90_ms: float


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


def time_call(fn: Callable[[], object], repeats: int) -> Timing:
    """Time ``fn`` ``repeats`` times after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    w, c = np.array(wall) * 1e3, np.array(cpu) * 1e3
    return Timing(
        wall_median_ms=round(float(np.median(w)), 3),
        wall_p90_ms=round(float(np.percentile(w, 90)), 3),
        cpu_median_ms=round(float(np.median(c)), 3),
        cpu_p90_ms=round(float(np.percentile(c, 90)), 3),
    )


def run_case(n: int, size: int, repeats: int, rng: np.random.Generator) -> dict:
    """Time particle_table, frame_metrics and both together on one synthetic frame."""
    labels, image = disc_scene(n, size, rng)
    table = particle_table(labels, image, PIXEL_SIZE_NM)
    lean = MetricsConfig(tessellation=False)

    def both() -> object:
        return frame_metrics(
            particle_table(labels, image, PIXEL_SIZE_NM), labels.shape, PIXEL_SIZE_NM
        )

    return {
        "particles": int(table["label"].size),
        "shape": [size, size],
        "foreground_fraction": round(float(np.mean(labels > 0)), 3),
        "particle_table": time_call(
            lambda: particle_table(labels, image, PIXEL_SIZE_NM), repeats
        ).__dict__,
        "frame_metrics": time_call(
            lambda: frame_metrics(table, labels.shape, PIXEL_SIZE_NM), repeats
        ).__dict__,
        "frame_metrics_lean": time_call(
            lambda: frame_metrics(table, labels.shape, PIXEL_SIZE_NM, config=lean), repeats
        ).__dict__,
        "total": time_call(both, repeats).__dict__,
    }


def reference_ms(rng: np.random.Generator) -> float:
    """Median thread-CPU time of np.sort on 1e6 random float64, ms (a machine-speed yardstick)."""
    values = rng.random(1_000_000)
    return time_call(lambda: np.sort(values), 10).cpu_median_ms


def main(argv: list[str] | None = None) -> int:
    """Run every case and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per measurement")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic frames")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    rng = np.random.default_rng(args.seed)
    report = {
        "benchmark": "nanolive.analysis per-frame set (particle_table + frame_metrics)",
        "target": "total <= 5 ms at 1,000 particles on one core",
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "logical_cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "repeats": args.repeats,
        "reference_sort_1m_ms": reference_ms(rng),
        "cases": [run_case(n, size, args.repeats, rng) for n, size in CASES],
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
