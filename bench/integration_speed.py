"""Cost of temporal frame integration (``[integration] frames``) beside the engine's own; prints JSON.

Run: ``.venv/bin/python -m nanolive.bench.integration_speed [--frames 24] [--integrate 1 2 3 4]``

Frames: the tracking scenario's simulated video (512 x 512, 150 particles, 20 e/px, drift; see
``nanolive.trackers.evaluation.Scenario``). For each integration count, in one run and interleaved
frame by frame: the milliseconds of ``FrameIntegrator.add`` (phase correlation of the binned frames +
the drift-aligned mean) and of the default engine's ``segment`` on the integrated frame, medians over
the frames after the first ``warm-up`` ones; ``ratio`` = integration / engine.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import numpy as np


def measure(n_frames: int, counts: Sequence[int], warm_up: int = 4, seed: int = 11) -> dict:
    """Return the per-count medians (ms) of integration and segmentation, and their ratio."""
    from nanolive.engines.base import EngineConfig
    from nanolive.engines.registry import create_engine
    from nanolive.sim import simulate_video
    from nanolive.stream.integrate import FrameIntegrator, IntegrationConfig
    from nanolive.trackers.evaluation import Scenario

    if n_frames <= warm_up:
        raise ValueError(f"need more than {warm_up} frames, not {n_frames}")
    scenario = Scenario(n_frames=n_frames)
    frames = [f.image for f in simulate_video(scenario.sim_config(), n_frames, seed)]
    engine = create_engine(EngineConfig())
    integrators = {k: FrameIntegrator(IntegrationConfig(frames=k)) for k in counts}
    times: dict[int, tuple[list[float], list[float]]] = {k: ([], []) for k in counts}
    for i, image in enumerate(frames):
        for k in counts:
            t0 = time.perf_counter()
            integrated = integrators[k].add(image).image
            t1 = time.perf_counter()
            engine.segment(integrated[None])
            t2 = time.perf_counter()
            if i >= warm_up:
                times[k][0].append(t1 - t0)
                times[k][1].append(t2 - t1)
    rows = []
    for k in counts:
        integrate_ms = 1e3 * float(np.median(times[k][0]))
        engine_ms = 1e3 * float(np.median(times[k][1]))
        rows.append(
            {
                "frames_integrated": k,
                "integrate_ms": integrate_ms,
                "engine_ms": engine_ms,
                "ratio": integrate_ms / engine_ms,
            }
        )
    return {
        "scenario": {"shape": list(scenario.shape), "dose_e_per_px": scenario.dose_e_per_px},
        "engine": engine.name,
        "timed_frames": n_frames - warm_up,
        "results": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the JSON of :func:`measure`."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--integrate", type=int, nargs="+", default=[1, 2, 3, 4])
    args = p.parse_args(argv)
    print(json.dumps(measure(args.frames, args.integrate), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
