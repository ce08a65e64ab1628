"""Tracker speed: ms per frame at 100, 1,000 and 5,000 particles on one CPU core; prints JSON.

Run: ``.venv/bin/python -m nanolive.bench.tracker_speed [--frames 60] [--counts 100 1000 5000]``

Scene (synthetic, no images, so only the tracker is timed): non-overlapping particles (centres at least
`min_separation_px` apart) at the density of 1,000 particles in 512 x 512 px (the field side grows with
the count, like a larger detector), diameters 4-10 px, random steps of ~1 px per axis and frame
around fixed anchors (so particles keep their spacing, as on a support, instead of piling up), a
stage drift of (0.6, -0.4) px per frame, localisation noise 0.3 px, 2 % of detections missed and 1 %
spurious detections per frame, detections shuffled every frame. Drift is estimated from the detections
(default config, no image). The first 5 frames are warm-up and not timed.

Each count is timed `--repeats` times (interleaved); reported: median over repeats and the best
repeat, in wall-clock time and in CPU time of the tracking thread (on a shared machine the best
repeat and the CPU time are the least disturbed by other processes).

Side-by-side references, measured in the same run at 1,000 particles:
- `filterpy_loop_ms`: one filterpy KalmanFilter per track, predict + update in a Python loop
  (what the batched model replaces);
- `dense_lap_ms`: the textbook padded dense `linear_sum_assignment` on the full 1,000 x 1,000
  squared-distance matrix (what the gated sparse solve replaces), matrix construction included.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence

import numpy as np
from nanolive.trackers import Detections, KalmanModel, Tracker, TrackerConfig, associate_dense
from scipy.spatial import cKDTree

DENSITY_PER_PX2 = 1000 / 512**2


def pin_one_core() -> int | None:
    """Pin this process to one CPU core (Linux); return the core or None where unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def separated_points(n: int, side: float, min_sep: float, rng: np.random.Generator) -> np.ndarray:
    """Return n points in [0, side)^2 with pairwise distances >= min_sep (dart throwing)."""
    pts = np.zeros((0, 2))
    while pts.shape[0] < n:
        cand = rng.uniform(0, side, size=(2 * n, 2))
        if pts.shape[0]:
            d, _ = cKDTree(pts).query(cand, k=1)
            cand = cand[d >= min_sep]
        kept: list[int] = []
        tree = cKDTree(cand)
        blocked = np.zeros(cand.shape[0], bool)
        for i in range(cand.shape[0]):
            if blocked[i]:
                continue
            kept.append(i)
            blocked[tree.query_ball_point(cand[i], min_sep)] = True
            if pts.shape[0] + len(kept) >= n:
                break
        pts = np.concatenate([pts, cand[kept]])
    return pts[:n]


def scene(
    n: int, frames: int, rng: np.random.Generator, min_separation_px: float = 10.0
) -> list[Detections]:
    """Return the detections of every frame of the benchmark scene."""
    side = float(np.sqrt(n / DENSITY_PER_PX2))
    anchor = separated_points(n, side, min_separation_px, rng)
    area = np.pi * rng.uniform(2, 5, size=n) ** 2
    drift = np.array([0.6, -0.4])
    # steps of ~1 px per axis and frame around fixed anchors (Ornstein-Uhlenbeck, stationary
    # std 2 px), so particles keep their spacing as on a support instead of piling up
    rho = 0.875
    wander = rng.normal(0, 2.0, size=(n, 2))
    out = []
    for f in range(frames):
        wander = rho * wander + np.sqrt(1 - rho**2) * 2.0 * rng.normal(size=(n, 2))
        pos = anchor + wander + (f + 1) * drift
        keep = rng.random(n) >= 0.02
        xy = pos[keep] + rng.normal(0, 0.3, size=(int(keep.sum()), 2))
        a = area[keep] * rng.uniform(0.9, 1.1, size=int(keep.sum()))
        n_fp = int(0.01 * n)
        xy = np.concatenate([xy, pos.mean(0) + rng.uniform(-side / 2, side / 2, size=(n_fp, 2))])
        a = np.concatenate([a, np.full(n_fp, 12.0)])
        perm = rng.permutation(xy.shape[0])
        out.append(Detections.from_arrays(xy[perm, 0], xy[perm, 1], a[perm]))
    return out


def time_tracker(dets: Sequence[Detections], warmup: int = 5) -> dict[str, float]:
    """Return ms per frame of Tracker.update over the frames after warm-up: wall-clock (median, mean,
    p90) and CPU time of this thread (median; not inflated by other processes on a shared machine)."""
    tracker = Tracker(TrackerConfig())
    wall, cpu = [], []
    for i, d in enumerate(dets):
        t0, c0 = time.perf_counter(), time.thread_time()
        tracker.update(d)
        if i >= warmup:
            wall.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
    ms = np.array(wall) * 1e3
    return {
        "ms_per_frame_median": float(np.median(ms)),
        "ms_per_frame_mean": float(ms.mean()),
        "ms_per_frame_p90": float(np.percentile(ms, 90)),
        "cpu_ms_per_frame_median": float(np.median(cpu) * 1e3),
    }


def time_filterpy_loop(n: int, rng: np.random.Generator, repeats: int = 3) -> float:
    """Return ms for predict + update of n filterpy KalmanFilters in a Python loop (best of repeats)."""
    from filterpy.kalman import KalmanFilter

    model = KalmanModel.from_config(TrackerConfig())
    filters = []
    for _ in range(n):
        kf = KalmanFilter(dim_x=6, dim_z=3)
        kf.F, kf.H, kf.Q, kf.R, kf.P = model.F, model.H, model.Q, model.R, model.P0.copy()
        filters.append(kf)
    z = rng.normal(0, 1, size=(n, 3))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for kf, zi in zip(filters, z, strict=True):
            kf.predict()
            kf.update(zi)
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def time_batched_kalman(n: int, rng: np.random.Generator, repeats: int = 3) -> float:
    """Return ms for the batched predict + update of n tracks (best of repeats)."""
    model = KalmanModel.from_config(TrackerConfig())
    x, cov = model.initial_state(rng.normal(0, 1, size=(n, 3)))
    z = rng.normal(0, 1, size=(n, 3))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        x1, c1 = model.predict(x, cov)
        model.update(x1, c1, z)
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def time_dense_lap(dets: Sequence[Detections], non_link_cost: float = 16.0) -> float:
    """Return ms to build the full squared-distance matrix of two frames and solve it padded."""
    a, b = dets[0], dets[1]
    t0 = time.perf_counter()
    cost = (a.x[:, None] - b.x[None, :]) ** 2 + (a.y[:, None] - b.y[None, :]) ** 2
    associate_dense(cost, non_link_cost)
    return (time.perf_counter() - t0) * 1e3


def run(
    counts: Sequence[int], frames: int, seed: int, one_core: bool = True, repeats: int = 3
) -> dict[str, object]:
    """Return the benchmark results as a JSON-ready dict.

    Every count is timed `repeats` times, interleaved (100, 1000, 5000, 100, ...), so that load from
    other processes spreads over all counts; per count the median over repeats and the best repeat
    (`*_best`: least disturbed) are reported. `one_core` pins this process to one CPU core first
    (it stays pinned).
    """
    rng = np.random.default_rng(seed)
    core = pin_one_core() if one_core else None
    scenes = {n: scene(n, frames, rng) for n in counts}
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    loads = []
    for _ in range(repeats):
        for n in counts:
            runs[n].append(time_tracker(scenes[n]))
        loads.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
    rows = []
    for n in counts:
        wall = [r["ms_per_frame_median"] for r in runs[n]]
        cpu = [r["cpu_ms_per_frame_median"] for r in runs[n]]
        rows.append(
            {
                "particles": n,
                "ms_per_frame_median": float(np.median(wall)),
                "ms_per_frame_best": float(np.min(wall)),
                "ms_per_frame_p90": float(np.median([r["ms_per_frame_p90"] for r in runs[n]])),
                "cpu_ms_per_frame_median": float(np.median(cpu)),
                "cpu_ms_per_frame_best": float(np.min(cpu)),
                "us_per_particle_best": float(np.min(cpu)) * 1e3 / n,
            }
        )
    out: dict[str, object] = {
        "cpu_core": core,
        "frames": frames,
        "repeats": repeats,
        "seed": seed,
        "load_average_1min": loads,
        "results": rows,
    }
    if len(rows) >= 2:
        log_n = np.log([r["particles"] for r in rows])
        for key, name in (("ms_per_frame_median", "wall"), ("cpu_ms_per_frame_best", "cpu")):
            slope = np.polyfit(log_n, np.log([r[key] for r in rows]), 1)[0]
            out[f"scaling_exponent_{name}"] = float(slope)
    ref_n = 1000
    ref_dets = scene(ref_n, 2, rng)
    loop = time_filterpy_loop(ref_n, rng)
    batched = time_batched_kalman(ref_n, rng)
    out["reference_1000"] = {
        "filterpy_loop_ms": loop,
        "batched_kalman_ms": batched,
        "kalman_speedup": loop / batched,
        "dense_lap_ms": time_dense_lap(ref_dets),
    }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print JSON; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.frames < 10 or min(args.counts) < 1 or args.repeats < 1:
        parser.error("--frames must be >= 10, counts and --repeats >= 1")
    print(json.dumps(run(args.counts, args.frames, args.seed, repeats=args.repeats), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
