"""Scaling curves measured in-process: engine-only and core throughput against frame size, and the
tracker + measurement + metric cost against particle count.

Engine-only = ``engine.segment`` alone on simulated frames (the limit a pipeline can reach); core = the
pipeline's per-frame core (engine -> particle_table -> tracker -> frame_metrics, no sockets). Each point
runs for about ``budget_s`` seconds after one untimed warm-up call (at least one timed call).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from .frames import simulated_frames

#: particle density of the particle-count curve (particles per px^2): 1000 particles in 512 x 512 px,
#: so the field grows with the count and the pixel count stays modest.
SCALING_DENSITY_PER_PX2 = 1000 / 512**2


def timed_rate(
    call: Callable[[int], int], budget_s: float, warmup: bool = True, max_calls: int = 10_000
) -> dict:
    """Call ``call(i)`` (returns frames done) until ``budget_s`` passes; return frames/s and ms/frame.

    With ``warmup`` the first call is not timed; at least one call is timed. The rate is taken from
    the median time per frame over the calls (robust to other processes stealing the CPU now and
    then); ``frames_per_s_mean`` is frames over total time.
    """
    if warmup:
        call(0)
    per_frame: list[float] = []
    frames = 0
    start = time.perf_counter()
    while len(per_frame) < max_calls:
        t0 = time.perf_counter()
        n = call(len(per_frame) + 1)
        per_frame.append((time.perf_counter() - t0) / n)
        frames += n
        if time.perf_counter() - start >= budget_s:
            break
    elapsed = time.perf_counter() - start
    median_s = float(np.median(per_frame))
    return {
        "frames": frames,
        "calls": len(per_frame),
        "seconds": elapsed,
        "frames_per_s": 1.0 / median_s,
        "frames_per_s_mean": frames / elapsed,
        "ms_per_frame": 1e3 * median_s,
    }


def engine_only_rate(
    engine: object, images: Sequence[np.ndarray], batch: int, budget_s: float, warmup: bool = True
) -> dict:
    """Return the engine-only rate on ``images`` (float32 (H, W)) in batches of ``batch`` frames."""
    stacks = [
        np.stack([images[(i + k) % len(images)] for k in range(batch)]).astype(np.float32)
        for i in range(len(images))
    ]

    def call(i: int) -> int:
        engine.segment(stacks[i % len(stacks)])
        return batch

    return timed_rate(call, budget_s, warmup)


def core_rate(
    engine: object, images: Sequence[np.ndarray], budget_s: float, warmup: bool = True
) -> dict:
    """Return the rate of the pipeline core (segment, measure, track, metrics), one frame per call."""
    from nanolive.stream.pipeline import FrameInput, FrameProcessor
    from nanolive.trackers import TrackerConfig

    processor = FrameProcessor(engine, TrackerConfig())

    def call(i: int) -> int:
        image = images[i % len(images)]
        processor.process_batch([FrameInput("bench", i, float(i), image)])
        return 1

    return timed_rate(call, budget_s, warmup)


def engine_size_curve(
    engine_names: Sequence[str],
    sides_px: Sequence[int],
    budget_s: float,
    seed: int,
    max_point_s: float = 40.0,
) -> dict:
    """Return, per engine, engine-only and core rates for each frame side (px); skips are explained.

    The engine is warmed up once, on the smallest side. A side whose predicted cost (one engine call
    plus one core call, extrapolated by pixel count from the previous side) exceeds ``max_point_s``
    is skipped, and so are the larger ones.
    """
    from .backends import create

    sides = sorted(sides_px)
    out: dict = {"sides_px": sides, "engines": {}, "skipped": {}}
    images: dict[int, list[np.ndarray]] = {}
    for name in engine_names:
        try:
            engine = create(name)
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            out["skipped"][name] = f"{type(exc).__name__}: {exc}"
            continue
        rows: list[dict] = []
        for side in sides:
            if rows:
                last = rows[-1]
                scale = (side / last["side_px"]) ** 2
                predicted = scale * (last["engine_ms_per_frame"] + last["core_ms_per_frame"]) / 1e3
                if predicted > max_point_s:
                    out["skipped"][f"{name}_{side}px"] = (
                        f"predicted {predicted:.0f} s for one engine + one core call "
                        f"(limit {max_point_s:g} s)"
                    )
                    break
            if side not in images:
                images[side] = [f.image for f in simulated_frames(side, 2, seed)]
            first = not rows
            eng = engine_only_rate(engine, images[side], 1, budget_s, warmup=first)
            core = core_rate(engine, images[side], budget_s, warmup=first)
            rows.append(
                {
                    "side_px": side,
                    "engine_frames_per_s": eng["frames_per_s"],
                    "engine_ms_per_frame": eng["ms_per_frame"],
                    "engine_mpx_per_s": eng["frames_per_s"] * side * side / 1e6,
                    "core_frames_per_s": core["frames_per_s"],
                    "core_ms_per_frame": core["ms_per_frame"],
                    "core_over_engine": core["frames_per_s"] / eng["frames_per_s"],
                }
            )
        out["engines"][name] = rows
    return out


def jittered_positions(n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Return n non-overlapping centres (n, 2) px on a jittered grid at the scaling density, and
    the field side (px)."""
    per_row = int(np.ceil(np.sqrt(n)))
    spacing = float(np.sqrt(1.0 / SCALING_DENSITY_PER_PX2))
    grid = np.stack(np.meshgrid(np.arange(per_row), np.arange(per_row)), -1).reshape(-1, 2)[:n]
    pos = (grid + 0.5) * spacing + rng.uniform(-0.2, 0.2, size=(n, 2)) * spacing
    return pos, per_row * spacing


def disc_labels(xy: np.ndarray, radii: np.ndarray, side: int) -> np.ndarray:
    """Return an int32 label image (side, side) of discs at ``xy`` (x = column) with ``radii`` px."""
    labels = np.zeros((side, side), np.int32)
    for k, ((x, y), r) in enumerate(zip(xy, radii, strict=True), start=1):
        r0, r1 = max(int(y - r), 0), min(int(np.ceil(y + r)) + 1, side)
        c0, c1 = max(int(x - r), 0), min(int(np.ceil(x + r)) + 1, side)
        if r0 >= r1 or c0 >= c1:
            continue
        rr, cc = np.ogrid[r0:r1, c0:c1]
        inside = (rr - y) ** 2 + (cc - x) ** 2 <= r * r
        labels[r0:r1, c0:c1][inside] = k
    return labels


def particle_count_curve(counts: Sequence[int], frames: int, seed: int) -> dict:
    """Return ms per frame of measurement (particle_table), tracking and frame metrics per count.

    Scene: discs of radius 2-5 px on a jittered grid (no overlaps), Brownian steps of 1 px per axis
    and frame; label images are rasterised outside the timing. The first frame is a warm-up.
    """
    from nanolive.analysis import frame_metrics, particle_table
    from nanolive.trackers import Detections, Tracker, TrackerConfig

    rng = np.random.default_rng(seed)
    rows = []
    for n in counts:
        pos, side_f = jittered_positions(n, rng)
        side = int(np.ceil(side_f))
        radii = rng.uniform(2.0, 5.0, size=n)
        tracker = Tracker(TrackerConfig())
        times: dict[str, list[float]] = {"measure": [], "track": [], "metrics": []}
        for i in range(frames + 1):
            pos = pos + rng.normal(0, 1.0, size=pos.shape)
            labels = disc_labels(pos, radii, side)
            t0 = time.perf_counter()
            table = particle_table(labels)
            t1 = time.perf_counter()
            tracker.update(Detections.from_table(table))
            t2 = time.perf_counter()
            frame_metrics(table, labels.shape)
            t3 = time.perf_counter()
            if i:
                times["measure"].append(t1 - t0)
                times["track"].append(t2 - t1)
                times["metrics"].append(t3 - t2)
        row = {"particles": n, "side_px": side}
        for k, v in times.items():
            row[f"{k}_ms_per_frame"] = 1e3 * float(np.median(v))
        row["total_ms_per_frame"] = sum(row[f"{k}_ms_per_frame"] for k in times)
        row["us_per_particle"] = 1e3 * row["total_ms_per_frame"] / n
        rows.append(row)
    out: dict = {"frames": frames, "rows": rows}
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        out["scaling_exponent"] = float(
            np.log(b["total_ms_per_frame"] / a["total_ms_per_frame"])
            / np.log(b["particles"] / a["particles"])
        )
    return out
