"""Simulator speed: frames per second of 512 x 512 videos on one CPU core, printed as JSON.

Run: ``.venv/bin/python -m nanolive.bench.sim_speed [--frames N] [--repeats R]``. The process pins
itself to one core (sched_setaffinity), so any thread pool shares that core.
Each variant simulates the same number of frames after a warm-up frame, including truth tables and
events (everything a consumer gets). Reported per variant: frames per second of wall time and of
this process's CPU time (the latter is robust to other processes competing for the core), each the
median over repeats, and the ratio to the default. A reference operation (one 512 x 512 float32
``standard_normal`` draw) is timed in the same run to calibrate the machine, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace

from nanolive.sim import SimConfig, simulate_video


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


def frames_per_second(config: SimConfig, n_frames: int, seed: int) -> tuple[float, float]:
    """Return (frames per wall-clock s, frames per CPU s) of ``simulate_video`` over ``n_frames``
    frames after one warm-up frame."""
    video = simulate_video(config, n_frames + 1, seed)
    next(video)
    wall, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in video)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def reference_ms(repeats: int = 20) -> float:
    """Return the median wall time (ms) of one 512 x 512 float32 standard-normal draw."""
    import numpy as np

    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rng.standard_normal((512, 512), dtype=np.float32)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Measure every variant and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per variant")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reference_before = reference_ms()
    results = {}
    for name, config in variants().items():
        runs = [frames_per_second(config, args.frames, seed) for seed in range(args.repeats)]
        results[name] = {
            "frames_per_s_wall": round(statistics.median(r[0] for r in runs), 1),
            "frames_per_s_cpu": round(statistics.median(r[1] for r in runs), 1),
        }
    default = results["default"]
    for entry in results.values():
        entry["cpu_ratio_to_default"] = round(
            entry["frames_per_s_cpu"] / default["frames_per_s_cpu"], 2
        )
    reference_after = reference_ms()
    report = {
        "benchmark": "sim_speed",
        "shape": list(SimConfig().shape),
        "frames": args.frames,
        "repeats": args.repeats,
        "cores": 1,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "reference_normal_512x512_ms": [round(reference_before, 2), round(reference_after, 2)],
        "variants": results,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
