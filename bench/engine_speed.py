"""Segmentation engine speed: 512x512 frames per second per backend and thread count (prints JSON).

Run: ``.venv/bin/python -m nanolive.bench.engine_speed [--frames 20] [--threads 1 2]``.
Every engine segments the same simulated frames (HAADF and BF alternating, moderate dose) one at a time
(batch 1, the live case). For the neural engines the network alone (``net_ms``) and the whole
``segment`` call (normalise + network + post-processing, ``segment_ms``) are timed separately; medians
over the frames after two warm-up calls. Engines that cannot run here (no GPU, no INT8 file) are
reported with the reason. Numbers from a shared machine vary run to run: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np


def bench_frames(n: int, seed: int = 0) -> np.ndarray:
    """Return n simulated 512x512 frames (float32 (n, 512, 512)), HAADF and BF alternating."""
    from nanolive.sim import SimConfig, simulate_image

    frames = []
    for i in range(n):
        cfg = SimConfig(mode=("haadf", "bf")[i % 2], dose_e_per_px=100.0)
        frames.append(simulate_image(cfg, seed + i).image)
    return np.stack(frames).astype(np.float32)


def median_ms(fn: Callable[[np.ndarray], object], frames: np.ndarray, warmup: int = 2) -> float:
    """Return the median wall time (ms) of fn(frame[None]) over the frames, after warm-up calls."""
    for i in range(warmup):
        fn(frames[i % len(frames)][None])
    times = []
    for f in frames:
        t0 = time.perf_counter()
        fn(f[None])
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def engine_row(name: str, threads: int, int8: bool, frames: np.ndarray, weights: str = "") -> dict:
    """Return one result row: engine, threads, ms per frame (network and whole segment), frames/s."""
    from nanolive.engines.base import EngineConfig
    from nanolive.engines.registry import create_engine

    label = name + ("-int8" if int8 else "")
    row: dict = {"engine": label, "threads": threads}
    if weights and name != "classical":
        row["weights"] = weights
    try:
        w = "" if name == "classical" else weights
        engine = create_engine(EngineConfig(name=name, threads=threads, int8=int8, weights=w))
    except (RuntimeError, FileNotFoundError, ImportError) as exc:
        row["skipped"] = str(exc)
        return row
    if int8 and "int8" not in str(getattr(engine, "model_path", "")):
        row["skipped"] = "no INT8 model file"
        return row
    if hasattr(engine, "logits"):
        row["net_ms"] = round(median_ms(engine.logits, frames), 2)
    seg_ms = median_ms(engine.segment, frames)
    row["segment_ms"] = round(seg_ms, 2)
    row["frames_per_s"] = round(1e3 / seg_ms, 2)
    return row


def main(argv: list[str] | None = None) -> int:
    """Time every engine at each thread count; print one JSON document."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=20, help="frames timed per engine")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument(
        "--engines", nargs="+", default=["classical", "onnx", "onnx-int8", "torch", "tensorrt"]
    )
    p.add_argument(
        "--weights",
        nargs="+",
        default=[""],
        help="model file(s), each timed in turn, side by side (default: the shipped model)",
    )
    args = p.parse_args(argv)
    import torch

    frames = bench_frames(args.frames)
    rows = []
    for spec in args.engines:
        name, int8 = spec.removesuffix("-int8"), spec.endswith("-int8")
        weights = [""] if name == "classical" else args.weights
        for threads in args.threads if name not in ("classical", "tensorrt") else [args.threads[0]]:
            if name == "torch":
                torch.set_num_threads(threads)
            for w in weights:
                rows.append(engine_row(name, threads, int8, frames, w))
    out = {
        "frame_shape": [512, 512],
        "frames": args.frames,
        "weights": [w or "shipped" for w in args.weights],
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
        },
        "results": rows,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
