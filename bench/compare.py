"""Side by side on the same simulated frames: our pipeline core, trackpy, a ParticleSpy-style analysis.

Reports frames/s and accuracy against the simulator's truth (detection F1 on centroids, tracking MOTA
and IDF1) and the ratios the issue asks for. The ParticleSpy-style analysis is slow, so it runs on the
first ``particlespy_frames`` frames; ours is scored on that same subset for its ratio.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from nanolive.trackers.metrics import Points

from .accuracy import detection_scores, tracking_scores
from .config import BenchConfig
from .frames import TruthFrame, simulated_frames
from .methods import MethodRun, run_ours, run_particlespy_style, run_trackpy

log = logging.getLogger(__name__)

LINK_SEARCH_RANGE_PX = 5.0


def match_distance_px(frames: Sequence[TruthFrame]) -> float:
    """Return the centroid match distance: half the median true diameter, at least 2 px."""
    diam = [f.diameter_px for f in frames if f.diameter_px > 0]
    return max(2.0, 0.5 * float(np.median(diam))) if diam else 3.0


def score_run(run: MethodRun, frames: Sequence[TruthFrame], distance_px: float) -> dict:
    """Return frames/s, seconds per stage and accuracy of ``run`` on its first len(run.xy) frames."""
    n = run.frames
    truth = frames[:n]
    det = detection_scores([f.xy for f in truth], run.xy, distance_px)
    track = tracking_scores(
        [Points(f.ids, f.xy) for f in truth],
        [Points(i, p) for i, p in zip(run.ids, run.xy, strict=True)],
        distance_px,
    )
    return {
        "frames": n,
        "frames_per_s": run.frames_per_s,
        "seconds": dict(run.seconds),
        "detection": det.as_dict(),
        "tracking": track,
        "params": dict(run.params),
    }


def truncated(run: MethodRun, n: int) -> MethodRun:
    """Return ``run`` restricted to its first ``n`` frames (time scaled pro rata)."""
    scale = n / run.frames
    seconds = {k: v * scale for k, v in run.seconds.items()}
    return MethodRun(run.name, run.xy[:n], run.ids[:n], seconds, run.params)


def ratio(a: float, b: float) -> float | None:
    """Return a / b, or None when b is 0 or not finite."""
    return float(a / b) if b and np.isfinite(b) and np.isfinite(a) else None


def run_comparison(config: BenchConfig) -> dict:
    """Run every method on the same frames and return the results as JSON-ready data."""
    frames = simulated_frames(config.compare_side_px, config.compare_frames, config.seed)
    calibration = simulated_frames(config.compare_side_px, 1, config.seed + 1000)[0]
    distance = match_distance_px(frames)
    out: dict = {
        "side_px": config.compare_side_px,
        "frames": len(frames),
        "particles_per_frame_mean": float(np.mean([len(f.ids) for f in frames])),
        "match_distance_px": distance,
        "link_search_range_px": LINK_SEARCH_RANGE_PX,
        "methods": {},
        "skipped": {},
    }
    ours_runs: dict[str, MethodRun] = {}
    for engine in config.engines:
        try:
            ours_runs[engine] = run_ours(frames, engine)
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            out["skipped"][f"ours_{engine}"] = f"{type(exc).__name__}: {exc}"
            log.warning("engine %s skipped in the comparison: %s", engine, exc)
    for run in ours_runs.values():
        out["methods"][run.name] = score_run(run, frames, distance)
    try:
        tp_run = run_trackpy(frames, calibration, distance, LINK_SEARCH_RANGE_PX)
        out["methods"]["trackpy"] = score_run(tp_run, frames, distance)
    except ImportError as exc:
        out["skipped"]["trackpy"] = f"trackpy not installed: {exc}"
    n_ps = config.particlespy_frames
    try:
        ps_run = run_particlespy_style(frames[:n_ps], LINK_SEARCH_RANGE_PX)
        out["methods"]["particlespy_style"] = score_run(ps_run, frames, distance)
        for engine, run in ours_runs.items():
            key = f"ours_{engine}_first_{n_ps}_frames"
            out["methods"][key] = score_run(truncated(run, n_ps), frames, distance)
    except ImportError as exc:  # trackpy links its detections
        out["skipped"]["particlespy_style"] = f"trackpy (its linker) not installed: {exc}"
    out["ratios"] = comparison_ratios(out["methods"], n_ps)
    return out


def comparison_ratios(methods: dict, n_ps: int) -> dict:
    """Return, per engine of ours, the speed and accuracy ratios against trackpy and ParticleSpy."""
    ratios: dict = {}
    for name, ours in methods.items():
        if not name.startswith("ours_") or "_first_" in name:
            continue
        r: dict = {}
        tp = methods.get("trackpy")
        if tp:
            r["fps_vs_trackpy"] = ratio(ours["frames_per_s"], tp["frames_per_s"])
            r["f1_minus_trackpy"] = ours["detection"]["f1"] - tp["detection"]["f1"]
            r["mota_minus_trackpy"] = ours["tracking"]["mota"] - tp["tracking"]["mota"]
            r["idf1_minus_trackpy"] = ours["tracking"]["idf1"] - tp["tracking"]["idf1"]
        ps = methods.get("particlespy_style")
        sub = methods.get(f"{name}_first_{n_ps}_frames")
        if ps and sub:
            r["fps_vs_particlespy_style"] = ratio(sub["frames_per_s"], ps["frames_per_s"])
            r["f1_minus_particlespy_style"] = sub["detection"]["f1"] - ps["detection"]["f1"]
        ratios[name] = r
    return ratios
