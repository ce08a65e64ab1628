"""Simulator speed: frames per second of 512 x 512 videos on one CPU core, printed as JSON.

Run: ``.venv/bin/python -m nanolive.bench.sim_speed [--frames N] [--repeats R]``. The process pins
itself to one core (sched_setaffinity) and limits BLAS/OpenMP threads to 1 before numpy is imported.
Each variant simulates the same number of frames after a warm-up frame; the reported figure is the
median over repeats of frames / wall time, including truth tables and events (everything a consumer
gets). Variants are measured side by side in one run so that ratios between them are meaningful.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

from nanolive.sim import SimConfig, simulate_video  # noqa: E402


def variants() -> dict[str, SimConfig]:
    """Return the configurations measured, keyed by name (all 512 x 512)."""
    base = SimConfig()
    return {
        "default": base,
        "low_dose_10e": replace(base, dose_e_per_px=10.0),
        "bright_field": replace(base, mode="bf"),
        "scan_artefacts": replace(base, line_jitter_px=0.5, flyback_amplitude_px=4.0),
        "agglomerated": replace(base, arrangement="agglomerated"),
        "sparse_line_hop_20pct": replace(base, sparse_fraction=0.2, sparse_kind="line-hop"),
    }


def frames_per_second(config: SimConfig, n_frames: int, seed: int) -> float:
    """Return frames/s of ``simulate_video`` over ``n_frames`` frames after one warm-up frame."""
    video = simulate_video(config, n_frames + 1, seed)
    next(video)
    start = time.perf_counter()
    count = sum(1 for _ in video)
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Measure every variant and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per variant")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    results = {}
    for name, config in variants().items():
        runs = [frames_per_second(config, args.frames, seed) for seed in range(args.repeats)]
        results[name] = {
            "frames_per_s": round(statistics.median(runs), 1),
            "runs_frames_per_s": [round(r, 1) for r in runs],
        }
    default = results["default"]["frames_per_s"]
    for entry in results.values():
        entry["ratio_to_default"] = round(entry["frames_per_s"] / default, 2)
    report = {
        "benchmark": "sim_speed",
        "shape": list(SimConfig().shape),
        "frames": args.frames,
        "repeats": args.repeats,
        "cores": 1,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "variants": results,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
