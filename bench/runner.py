"""One benchmark run: every part measured in one process, one after the other, on the same machine.

Order: accuracy/speed comparison, engine-only and core scaling against frame size, the engine-backend
table, tracker + metric cost against particle count, then the live load (real serve subprocesses,
within the run's time budget). Ratios are only ever taken
between numbers of the same run. The result is one JSON-ready dict (see :func:`run_bench`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from . import backends
from .compare import run_comparison
from .config import BatchSetting, BenchConfig
from .frames import simulated_frames, wire_image
from .live import Level, LiveSession, ServeOptions
from .machine import machine_info
from .scaling import engine_only_rate, engine_size_curve, particle_count_curve
from .targets import evaluate_targets

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def default_batching() -> BatchSetting:
    """Return the pipeline's default batching (from the serve configuration)."""
    from nanolive.stream.config import BatchingConfig

    b = BatchingConfig()
    return BatchSetting(b.max_batch, b.max_wait_ms)


def pool_size(side_px: int) -> int:
    """Return how many distinct frames to simulate for a live level at ``side_px`` (2..16)."""
    return int(np.clip(2**22 // side_px**2, 2, 16))


class FramePools:
    """Simulated uint16 frames per side, made once per run (never while a level is running)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._pools: dict[int, list[np.ndarray]] = {}

    def wire(self, side: int) -> list[np.ndarray]:
        """Return the uint16 frames of ``side`` (px)."""
        if side not in self._pools:
            frames = simulated_frames(side, pool_size(side), self.seed)
            self._pools[side] = [wire_image(f.image) for f in frames]
        return self._pools[side]

    def counts(self, side: int) -> list[np.ndarray]:
        """Return the same frames as float32 counts (what the pipeline segments)."""
        self.wire(side)
        return [w.astype(np.float32) for w in self._pools[side]]


def engine_only_fps(name: str, images: list[np.ndarray], batch: int, budget_s: float) -> float:
    """Return the engine-only rate (frames/s) of engine ``name`` in batches of ``batch``."""
    engine = backends.create(name)
    return float(engine_only_rate(engine, images, batch, budget_s)["frames_per_s"])


def estimated_fps(curve: dict, engine: str, side: int) -> float | None:
    """Return the core rate of ``engine`` at ``side`` from the scaling curve, if measured."""
    for row in curve.get("engines", {}).get(engine, []):
        if row["side_px"] == side:
            return float(row["core_frames_per_s"])
    return None


class Deadline:
    """The run's wall-clock limit: ``ok()`` says whether one more live level still fits."""

    def __init__(self, config: BenchConfig, started: float) -> None:
        self.end = started + config.time_budget_s - config.level_reserve_s

    def ok(self) -> bool:
        """True while a level started now is expected to finish within the budget."""
        return time.monotonic() < self.end


def run_session(
    options: ServeOptions,
    levels: list[Level],
    progress: Progress,
    deadline: Deadline,
    skipped: dict,
    keep_fps: float | None = None,
) -> tuple[list[dict], dict | None]:
    """Start one pipeline, run ``levels`` in order, stop it; return (level results, accounting).

    Levels that no longer fit in the time budget are not run, nor offered rates above one that
    already saturated the pipeline (except ``keep_fps``, the target rate); both are listed in
    ``skipped``.
    """
    results: list[dict] = []
    batching = BatchSetting(options.max_batch, options.max_wait_ms).name
    if not deadline.ok():
        skipped[f"{options.engine} {batching}"] = "time budget"
        return results, None
    with LiveSession(options) as session:
        saturated_at: float | None = None
        for level in levels:
            key = f"{options.engine} {batching} {level.name}"
            if not deadline.ok():
                skipped[key] = "time budget"
                continue
            if (
                level.fps is not None
                and saturated_at is not None
                and level.fps > saturated_at
                and level.fps != keep_fps
            ):
                skipped[key] = f"the pipeline already saturated at {saturated_at:g} fps"
                continue
            progress(f"live {options.engine} {batching} {level.name}")
            result = session.run(level)
            results.append(result)
            if level.fps is not None and result["saturated"]:
                saturated_at = min(level.fps, saturated_at or level.fps)
        accounting = session.close()
        if accounting is None:
            skipped[f"{options.engine} {batching} accounting"] = (
                f"serve exit code {session.serve.proc.returncode}; last output: "
                + " | ".join(session.serve.lines[-5:])
            )
    return results, accounting


def live_part(
    config: BenchConfig, pools: FramePools, curve: dict, progress: Progress, deadline: Deadline
) -> dict:
    """Run the live-load sessions, most important first (later ones may meet the time budget):
    engines x (max rate, offered fps) with the frame sizes on the first engine, the no-op engine,
    then the batching settings on the first engine."""
    out: dict = {"sessions": [], "engine_only": [], "skipped": {}}
    side = config.live_side_px
    images = pools.wire(side)
    counts = pools.counts(side)
    default = default_batching()
    secs = config.level_s
    first_engine: str | None = None
    for engine in config.engines:
        try:
            eo = engine_only_fps(engine, counts, default.max_batch, secs)
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            out["skipped"][engine] = f"{type(exc).__name__}: {exc}"
            continue
        out["engine_only"].append(
            {"engine": engine, "side_px": side, "max_batch": default.max_batch, "frames_per_s": eo}
        )
        rates = config.offered_fps if first_engine is None else (config.target_fps,)
        levels = [Level("max", images, None, secs, window=2 * default.max_batch)]
        levels += [Level(f"fps{r:g}", images, r, secs) for r in rates]
        if first_engine is None:
            levels += size_levels(config, pools, curve, engine, out["skipped"])
        options = ServeOptions(engine, default.max_batch, default.max_wait_ms)
        try:
            results, accounting = run_session(
                options, levels, progress, deadline, out["skipped"], config.target_fps
            )
        except RuntimeError as exc:
            out["skipped"][f"live_{engine}"] = str(exc)
            continue
        out["sessions"].append(
            {
                "engine": engine,
                "batching": default.name,
                "levels": results,
                "accounting": accounting,
            }
        )
        first_engine = first_engine or engine
    if first_engine is None:
        return out
    if config.noop:
        levels = [
            Level("max", images, None, secs, window=2 * default.max_batch),
            Level(f"fps{config.target_fps:g}", images, config.target_fps, secs),
        ]
        options = ServeOptions("noop", default.max_batch, default.max_wait_ms)
        results, accounting = run_session(
            options, levels, progress, deadline, out["skipped"], config.target_fps
        )
        out["sessions"].append(
            {
                "engine": "noop",
                "batching": default.name,
                "levels": results,
                "accounting": accounting,
            }
        )
    for setting in config.batch_settings:
        if setting == default:
            continue
        eo = engine_only_fps(first_engine, counts, setting.max_batch, secs)
        out["engine_only"].append(
            {
                "engine": first_engine,
                "side_px": side,
                "max_batch": setting.max_batch,
                "frames_per_s": eo,
            }
        )
        levels = [
            Level("max", images, None, secs, window=2 * setting.max_batch),
            Level(f"fps{config.target_fps:g}", images, config.target_fps, secs),
        ]
        options = ServeOptions(first_engine, setting.max_batch, setting.max_wait_ms)
        results, accounting = run_session(
            options, levels, progress, deadline, out["skipped"], config.target_fps
        )
        out["sessions"].append(
            {
                "engine": first_engine,
                "batching": setting.name,
                "levels": results,
                "accounting": accounting,
            }
        )
    out["efficiency"] = pipeline_efficiency(out, curve)
    return out


def size_levels(
    config: BenchConfig, pools: FramePools, curve: dict, engine: str, skipped: dict
) -> list[Level]:
    """Return the maximum-rate levels of the frame-size sweep (sizes too slow to finish are skipped)."""
    levels = []
    for side in config.sizes_px:
        if side == config.live_side_px:
            continue  # the session's own "max" level covers it
        est = estimated_fps(curve, engine, side)
        if est is not None and est * config.level_s < 2:
            skipped[f"size_{side}"] = (
                f"core rate {est:.2f} frames/s at {side} px: a {config.level_s:g} s level would "
                "hold fewer than 2 frames"
            )
            continue
        window = 2 if est is None or est < 2 else 4
        drain = max(30.0, 3 * window / est) if est else 60.0
        levels.append(
            Level(
                f"max-{side}px",
                pools.wire(side),
                None,
                config.level_s,
                window=window,
                drain_timeout_s=drain,
            )
        )
    return levels


def pipeline_efficiency(live: dict, curve: dict) -> list[dict]:
    """Return end-to-end max-rate throughput over engine-only throughput per engine and batching,
    and over the in-process core rate (batch 1) of the scaling curve where it was measured."""
    rows = []
    for session in live["sessions"]:
        if session["engine"] == "noop":
            continue
        for level in session["levels"]:
            if level["name"] != "max":
                continue
            eo = next(
                (
                    e["frames_per_s"]
                    for e in live["engine_only"]
                    if e["engine"] == session["engine"]
                    and e["max_batch"] == level["max_batch"]
                    and e["side_px"] == level["side_px"]
                ),
                None,
            )
            e2e = level["throughput_fps"]
            core = estimated_fps(curve, session["engine"], level["side_px"])
            rows.append(
                {
                    "engine": session["engine"],
                    "batching": session["batching"],
                    "side_px": level["side_px"],
                    "engine_only_fps": eo,
                    "core_fps": core,
                    "end_to_end_fps": e2e,
                    "efficiency": e2e / eo if eo and e2e else None,
                    "end_to_end_over_core": e2e / core if core and e2e else None,
                }
            )
    return rows


def run_bench(config: BenchConfig, progress: Progress | None = None) -> dict:
    """Run every part of the benchmark and return the results (JSON-ready)."""
    say = progress or (lambda msg: log.info("%s", msg))
    started = time.time()
    started_monotonic = time.monotonic()
    results: dict = {"config": config_summary(config), "machine": machine_info()}
    timings: dict[str, float] = {}

    t = time.perf_counter()
    say("comparison: ours vs trackpy vs ParticleSpy-style")
    results["comparison"] = run_comparison(config)
    timings["comparison"] = time.perf_counter() - t

    t = time.perf_counter()
    say("scaling: engine-only and core rate against frame size")
    results["engine_scaling"] = engine_size_curve(
        config.engines, config.engine_sizes_px, config.engine_budget_s, config.seed
    )
    say("engine backends: network and whole segment call, 512 x 512, batch 1")
    results["backends"] = backend_part(config)
    say("scaling: measurement + tracking + metrics against particle count")
    results["particle_scaling"] = particle_count_curve(
        config.particle_counts, config.scaling_frames, config.seed
    )
    timings["scaling"] = time.perf_counter() - t

    if config.live:
        t = time.perf_counter()
        pools = FramePools(config.seed)
        deadline = Deadline(config, started_monotonic)
        results["live"] = live_part(config, pools, results["engine_scaling"], say, deadline)
        timings["live"] = time.perf_counter() - t
    results["targets"] = evaluate_targets(results, config)
    results["machine"]["load_average_end"] = machine_info()["load_average_1_5_15"]
    timings["total"] = time.time() - started
    results["timings_s"] = timings
    results["started_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    return results


def backend_part(config: BenchConfig) -> dict:
    """Return the engine-backend table (nanolive.bench.engine_speed on the same 512 px frames)."""
    from .engine_speed import bench_frames

    frames = bench_frames(config.backend_frames, config.seed)
    return {
        "side_px": int(frames.shape[-1]),
        "frames": config.backend_frames,
        "rows": backends.backend_rows(config.engines, frames, config.backend_threads),
    }


def config_summary(config: BenchConfig) -> dict:
    """Return the configuration as plain data."""
    import dataclasses

    out = dataclasses.asdict(config)
    out["batch_settings"] = [BatchSetting(**b).name for b in out["batch_settings"]]
    return out
