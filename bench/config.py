"""What one `nanolive bench` run measures: a frozen, validated :class:`BenchConfig` and its two presets.

``BenchConfig.default()`` is the full run (at most 10 minutes on 2 cores); ``BenchConfig.quick()`` is the
~1 minute run the tests use. Sizes are square frame sides (px), rates in frames/s, durations in s.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchSetting:
    """One dynamic-batching setting of the pipeline: ``max_batch`` frames, ``max_wait_ms`` (ms)."""

    max_batch: int
    max_wait_ms: float

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, not {self.max_batch}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, not {self.max_wait_ms}")

    @property
    def name(self) -> str:
        """A short label such as ``b4-w10ms``."""
        return f"b{self.max_batch}-w{self.max_wait_ms:g}ms"


@dataclass(frozen=True)
class BenchConfig:
    """Every knob of a benchmark run.

    Live load (real ``nanolive serve`` subprocess, loopback ZeroMQ)
        live: run the live-load part at all.
        live_side_px: frame side of the offered-fps sweep and the batching/engine sweeps (px).
        offered_fps: open-loop send rates of the fps sweep (frames/s); the maximum rate (closed loop)
            is always measured too.
        level_s: sending time of one load level (s).
        sizes_px: frame sides of the frame-size sweep (px), measured at the maximum rate.
        batch_settings: batching settings compared at ``target_fps`` and at the maximum rate.
        engines: engine backends to try ("classical", "onnx", "onnx-int8" = the INT8 ONNX model, ...);
            unavailable ones are reported and skipped.
        target_fps: the issue's sustained rate (frames/s) used for the batching and engine comparisons.
        noop: also measure the no-op engine (the framework's own overhead).
    Offline comparisons (same simulated frames with ground truth)
        compare_frames: frames of the accuracy/speed comparison with trackpy and a ParticleSpy-style
            analysis; compare_side_px: their side (px).
        particlespy_frames: how many of those frames the (slow) ParticleSpy-style analysis gets.
        engine_sizes_px: frame sides of the engine-only scaling curve (px).
        engine_budget_s: time spent per point of the engine-only curve (s; at least one call).
        particle_counts: particle counts of the tracker + metrics scaling curve.
        scaling_frames: frames per particle count.
        backend_frames: 512 x 512 frames per backend of the engine-backend table (network vs whole
            segment call, nanolive.bench.engine_speed); backend_threads: CPU thread counts tried.
    seed: simulator seed (frames are deterministic for a seed).
    time_budget_s: wall time the whole run may take (s); live levels that would start after
        ``time_budget_s - level_reserve_s`` are skipped and reported as skipped.
    level_reserve_s: time kept free for one live level, its drain and the outputs (s).
    """

    live: bool = True
    live_side_px: int = 512
    offered_fps: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
    level_s: float = 5.0
    sizes_px: tuple[int, ...] = (256, 512, 1024, 2048)
    batch_settings: tuple[BatchSetting, ...] = (
        BatchSetting(1, 0.0),
        BatchSetting(4, 10.0),
        BatchSetting(8, 50.0),
    )
    engines: tuple[str, ...] = ("classical", "onnx", "onnx-int8")
    target_fps: float = 15.0
    noop: bool = True
    compare_frames: int = 20
    compare_side_px: int = 512
    particlespy_frames: int = 4
    engine_sizes_px: tuple[int, ...] = (256, 512, 1024, 2048)
    engine_budget_s: float = 2.0
    particle_counts: tuple[int, ...] = (100, 300, 1000, 3000, 10000)
    scaling_frames: int = 15
    backend_frames: int = 6
    backend_threads: tuple[int, ...] = (1, 2)
    seed: int = 0
    time_budget_s: float = 570.0
    level_reserve_s: float = 30.0

    def __post_init__(self) -> None:
        sides = (self.live_side_px, self.compare_side_px, *self.sizes_px, *self.engine_sizes_px)
        if min(sides) < 32 or max(sides) > 4096:
            raise ValueError(f"frame sides must be within 32..4096 px, got {sorted(set(sides))}")
        if not self.offered_fps or min(self.offered_fps) <= 0:
            raise ValueError(f"offered_fps must be positive rates, got {self.offered_fps}")
        if not self.level_s > 0 or not self.engine_budget_s > 0 or not self.target_fps > 0:
            raise ValueError("level_s, engine_budget_s and target_fps must be > 0")
        if not self.batch_settings or not self.engines:
            raise ValueError("batch_settings and engines must not be empty")
        if self.backend_frames < 1 or not self.backend_threads or min(self.backend_threads) < 0:
            raise ValueError("backend_frames must be >= 1 and backend_threads non-empty, >= 0")
        if self.compare_frames < 3 or self.scaling_frames < 3:
            raise ValueError("compare_frames and scaling_frames must be >= 3")
        if not 1 <= self.particlespy_frames <= self.compare_frames:
            raise ValueError(
                f"particlespy_frames must be in 1..compare_frames, not {self.particlespy_frames}"
            )
        if not self.time_budget_s > self.level_reserve_s >= 0:
            raise ValueError(
                f"time_budget_s ({self.time_budget_s}) must exceed level_reserve_s "
                f"({self.level_reserve_s}) >= 0"
            )
        if not self.particle_counts or min(self.particle_counts) < 2:
            raise ValueError(f"particle_counts must be >= 2, got {self.particle_counts}")

    @classmethod
    def default(cls) -> BenchConfig:
        """The full run (target: at most 10 minutes on 2 cores)."""
        return cls()

    @classmethod
    def quick(cls) -> BenchConfig:
        """The ~1 minute run: every part, fewer and shorter points."""
        return cls(
            live_side_px=256,
            offered_fps=(5.0, 15.0),
            level_s=2.0,
            sizes_px=(256,),
            batch_settings=(BatchSetting(1, 0.0), BatchSetting(4, 10.0)),
            engines=("classical",),
            compare_frames=6,
            compare_side_px=256,
            particlespy_frames=2,
            engine_sizes_px=(256, 512),
            engine_budget_s=0.5,
            particle_counts=(100, 1000),
            scaling_frames=5,
            backend_frames=2,
            backend_threads=(1,),
            time_budget_s=180.0,
            level_reserve_s=10.0,
        )
