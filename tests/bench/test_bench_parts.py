"""The benchmark's pure parts: matching and scores, latency summary, /metrics parsing, target verdicts,
configuration checks, the no-op engine, the ParticleSpy-style property loop, synthetic scenes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nanolive.bench.accuracy import detection_scores, match_points
from nanolive.bench.backends import engine_config, serve_args
from nanolive.bench.cli import jsonable
from nanolive.bench.config import BatchSetting, BenchConfig
from nanolive.bench.live import latency_summary_ms
from nanolive.bench.methods import particlespy_properties
from nanolive.bench.noop_serve import NoopEngine
from nanolive.bench.promtext import (
    batch_size_mean,
    drops_by_reason,
    parse_metrics,
    stage_means_ms,
)
from nanolive.bench.scaling import disc_labels, jittered_positions
from nanolive.bench.targets import evaluate_targets


def test_match_points_maximises_matches_not_greedy() -> None:
    truth = np.array([[0.0, 0.0], [1.9, 0.0]])
    pred = np.array([[1.0, 0.0], [3.2, 0.0]])
    # greedy nearest-first would pair truth 1 with pred 0 (0.9 px) and leave truth 0 unmatched
    pairs = match_points(truth, pred, 1.4)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 0), (1, 1)]


def test_match_points_respects_distance_and_empty_inputs() -> None:
    assert match_points(np.array([[0.0, 0.0]]), np.array([[5.0, 0.0]]), 4.9).shape == (0, 2)
    assert match_points(np.zeros((0, 2)), np.array([[1.0, 1.0]]), 3).shape == (0, 2)
    assert match_points(np.array([[1.0, 1.0]]), np.zeros((0, 2)), 3).shape == (0, 2)


def test_detection_scores_counts() -> None:
    truth = [np.array([[10.0, 10.0], [50.0, 50.0]]), np.array([[5.0, 5.0]])]
    pred = [np.array([[10.5, 10.0], [90.0, 90.0]]), np.zeros((0, 2))]
    s = detection_scores(truth, pred, 3.0)
    assert (s.true_positives, s.false_positives, s.false_negatives) == (1, 1, 2)
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(1 / 3)
    assert s.f1 == pytest.approx(0.4)
    assert s.rmse_px == pytest.approx(0.5)
    with pytest.raises(ValueError):
        detection_scores(truth, pred[:1], 3.0)
    with pytest.raises(ValueError):
        detection_scores(truth, pred, 0.0)


def test_latency_summary() -> None:
    s = latency_summary_ms(np.arange(1, 101) / 1000.0)
    assert s["max"] == pytest.approx(100.0)
    assert s["p50"] == pytest.approx(50.5)
    assert s["p99"] == pytest.approx(99.01)
    assert latency_summary_ms([])["p99"] is None


EXPOSITION_BEFORE = """\
# HELP nanolive_stage_seconds Time per frame
# TYPE nanolive_stage_seconds histogram
nanolive_stage_seconds_bucket{le="+Inf",stage="segment"} 2.0
nanolive_stage_seconds_count{stage="segment"} 2.0
nanolive_stage_seconds_sum{stage="segment"} 0.2
nanolive_stage_seconds_bucket{le="+Inf",stage="track"} 2.0
nanolive_stage_seconds_count{stage="track"} 2.0
nanolive_stage_seconds_sum{stage="track"} 0.02
# HELP nanolive_frames_dropped Dropped
# TYPE nanolive_frames_dropped counter
nanolive_frames_dropped_total{reason="queue_full"} 1.0
# HELP nanolive_batch_size Frames per batch
# TYPE nanolive_batch_size histogram
nanolive_batch_size_bucket{le="+Inf"} 1.0
nanolive_batch_size_count 1.0
nanolive_batch_size_sum 2.0
"""

EXPOSITION_AFTER = """\
# HELP nanolive_stage_seconds Time per frame
# TYPE nanolive_stage_seconds histogram
nanolive_stage_seconds_bucket{le="+Inf",stage="segment"} 6.0
nanolive_stage_seconds_count{stage="segment"} 6.0
nanolive_stage_seconds_sum{stage="segment"} 0.6
nanolive_stage_seconds_bucket{le="+Inf",stage="track"} 2.0
nanolive_stage_seconds_count{stage="track"} 2.0
nanolive_stage_seconds_sum{stage="track"} 0.02
# HELP nanolive_frames_dropped Dropped
# TYPE nanolive_frames_dropped counter
nanolive_frames_dropped_total{reason="queue_full"} 4.0
nanolive_frames_dropped_total{reason="engine_error"} 2.0
# HELP nanolive_batch_size Frames per batch
# TYPE nanolive_batch_size histogram
nanolive_batch_size_bucket{le="+Inf"} 3.0
nanolive_batch_size_count 3.0
nanolive_batch_size_sum 10.0
"""


def test_metrics_deltas() -> None:
    before, after = parse_metrics(EXPOSITION_BEFORE), parse_metrics(EXPOSITION_AFTER)
    stages = stage_means_ms(before, after)
    assert stages == {"segment": pytest.approx(100.0)}  # track saw no new frame
    assert drops_by_reason(before, after) == {"queue_full": 3, "engine_error": 2}
    assert batch_size_mean(before, after) == pytest.approx(4.0)
    assert batch_size_mean(after, after) is None


def live_level(offered: float | None, sustained: bool | None, p99: float) -> dict:
    return {
        "name": "x",
        "side_px": 512,
        "offered_fps": offered,
        "send_rate_fps": 15.0,
        "throughput_fps": 15.0,
        "dropped_total": 0,
        "lost": 0,
        "saturated": False,
        "sustained": sustained,
        "latency_ms": {"p99": p99},
    }


def synthetic_results(p99: float, e2e: float, ours_fps: float, ours_f1: float) -> dict:
    def method(fps: float, f1: float, mota: float) -> dict:
        return {"frames_per_s": fps, "detection": {"f1": f1}, "tracking": {"mota": mota}}

    return {
        "live": {
            "sessions": [
                {
                    "engine": "classical",
                    "batching": "b4-w10ms",
                    "levels": [live_level(15.0, True, p99), live_level(None, None, 900.0)],
                }
            ],
            "efficiency": [
                {
                    "engine": "classical",
                    "batching": "b4-w10ms",
                    "side_px": 512,
                    "engine_only_fps": 20.0,
                    "end_to_end_fps": e2e,
                    "efficiency": e2e / 20.0,
                }
            ],
        },
        "comparison": {
            "methods": {
                "ours_classical": method(ours_fps, ours_f1, 0.9),
                "trackpy": method(10.0, 0.8, 0.7),
                "particlespy_style": method(1.0, 0.7, 0.5),
                "ours_classical_first_2_frames": method(ours_fps, ours_f1, 0.9),
            }
        },
    }


def test_targets_met() -> None:
    t = evaluate_targets(synthetic_results(120.0, 19.0, 12.0, 0.9), BenchConfig())
    assert {k: v["status"] for k, v in t.items()} == dict.fromkeys(t, "met")
    assert t["vs_trackpy"]["engine"] == "ours_classical"


def test_targets_not_met() -> None:
    t = evaluate_targets(synthetic_results(200.0, 17.0, 9.0, 0.75), BenchConfig())
    assert t["live_512_at_15fps"]["status"] == "not met"  # p99 above 150 ms
    assert t["pipeline_efficiency"]["status"] == "not met"  # 0.85
    assert t["vs_trackpy"]["status"] == "not met"  # slower and less accurate
    assert t["vs_particlespy"]["status"] == "not met"  # 9x only


def test_targets_not_evaluated_without_data() -> None:
    t = evaluate_targets({"comparison": {"methods": {}}}, BenchConfig())
    assert {v["status"] for v in t.values()} == {"not evaluated"}


def test_config_presets_and_validation() -> None:
    assert BenchConfig.quick().level_s < BenchConfig.default().level_s
    with pytest.raises(ValueError, match="frame sides"):
        BenchConfig(sizes_px=(16,))
    with pytest.raises(ValueError, match="offered_fps"):
        BenchConfig(offered_fps=(0.0,))
    with pytest.raises(ValueError, match="particlespy_frames"):
        BenchConfig(compare_frames=4, particlespy_frames=5)
    with pytest.raises(ValueError, match="max_batch"):
        BatchSetting(0, 1.0)
    assert BatchSetting(4, 10.0).name == "b4-w10ms"


def test_noop_engine() -> None:
    out = NoopEngine().segment(np.ones((3, 8, 9), np.float32))
    assert out.shape == (3, 8, 9) and out.dtype == np.int32 and not out.any()
    with pytest.raises(ValueError):
        NoopEngine().segment(np.ones((8, 9), np.float32))


def test_particlespy_properties_of_two_discs() -> None:
    labels = disc_labels(np.array([[20.0, 30.0], [60.0, 40.0]]), np.array([5.0, 8.0]), 100)
    image = (labels > 0).astype(np.float32) * 10.0 + 1.0
    props = particlespy_properties(labels, image)
    assert len(props) == 2
    assert (props[0]["x"], props[0]["y"]) == pytest.approx((20.0, 30.0), abs=1e-6)
    assert (props[1]["x"], props[1]["y"]) == pytest.approx((60.0, 40.0), abs=1e-6)
    assert props[1]["area"] == pytest.approx(np.pi * 64, rel=0.05)
    assert props[0]["background"] == pytest.approx(1.0)
    assert props[0]["intensity_max"] == pytest.approx(10.0)
    assert 0.8 < props[1]["circularity"] < 1.2


def test_jittered_scene_has_every_particle() -> None:
    pos, side = jittered_positions(50, np.random.default_rng(1))
    labels = disc_labels(pos, np.full(50, 3.0), int(np.ceil(side)))
    assert np.unique(labels[labels > 0]).size == 50


def test_jsonable() -> None:
    assert jsonable({"a": math.nan, "b": (1.0, math.inf), 3: [2]}) == {
        "a": None,
        "b": [1.0, None],
        "3": [2],
    }


def test_backend_specs() -> None:
    assert (engine_config("onnx-int8").name, engine_config("onnx-int8").int8) == ("onnx", True)
    assert (engine_config("classical").name, engine_config("classical").int8) == (
        "classical",
        False,
    )
    assert serve_args("onnx-int8") == ["--engine", "onnx", "--set", "engine.int8=true"]
    assert serve_args("classical") == ["--engine", "classical"]
    with pytest.raises(ValueError):
        engine_config("")


def test_integration_speed_reports_each_count_beside_the_engine() -> None:
    from nanolive.bench.integration_speed import measure

    out = measure(6, [1, 3], warm_up=2)
    assert [r["frames_integrated"] for r in out["results"]] == [1, 3]
    off, on = out["results"]
    assert off["integrate_ms"] < 1.0 < on["integrate_ms"]  # 1 frame: nothing to align
    assert on["engine_ms"] > 0 and on["ratio"] == pytest.approx(
        on["integrate_ms"] / on["engine_ms"]
    )
    with pytest.raises(ValueError, match="more than 2 frames"):
        measure(2, [1], warm_up=2)
