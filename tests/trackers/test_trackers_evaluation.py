"""The evaluation chain on small simulated videos: scores, engines, doses, report, CLI."""

import argparse
import math

import nanolive.engines.registry as registry
import pytest
from nanolive.engines.base import EngineConfig
from nanolive.trackers import TrackerConfig
from nanolive.trackers.cli import chain_summary, register
from nanolive.trackers.evaluation import Scenario, evaluate
from nanolive.trackers.report import markdown_report

SMALL = Scenario(shape=(160, 160), n_particles=14, dose_e_per_px=200.0, n_frames=12)
TINY = Scenario(shape=(96, 96), n_particles=6, dose_e_per_px=20.0, n_frames=4)


@pytest.fixture(scope="module")
def results():
    classical = EngineConfig(name="classical")
    return evaluate([3], [3], SMALL, TrackerConfig(), engine_config=classical)


def test_small_video_scores_are_sane(results):
    by_source = {r.source: r for r in results}
    assert set(by_source) == {"truth", "classical"}
    truth = by_source["truth"]
    assert truth.n_true > 100
    # true detections: the only losses are the first frame of each track (before confirmation)
    assert truth.mota > 0.9 and truth.idf1 > 0.9 and truth.false_positives == 0
    for r in results:
        assert r.mota <= 1.0 and 0.0 <= r.idf1 <= 1.0 and 0.0 <= r.hota <= 1.0
        assert r.dose_e_per_px == SMALL.dose_e_per_px
    assert by_source["classical"].n_true == truth.n_true


def test_chain_uses_the_default_engine_from_the_registry_at_each_dose(monkeypatch):
    built, create = [], registry.create_engine

    def spy(config):
        built.append(config)
        return create(config)

    monkeypatch.setattr(registry, "create_engine", spy)
    rows = evaluate([], [5], TINY, chain_doses=(20.0, 100.0))
    assert built == [EngineConfig()]  # built once, through the registry, default settings
    assert [r.source for r in rows] == [EngineConfig().name] * 2
    assert [r.dose_e_per_px for r in rows] == [20.0, 100.0]
    for r in rows:
        assert r.n_frames == TINY.n_frames and r.n_true > 0
        assert math.isfinite(r.detections_per_frame) and r.detections_per_frame >= 0
        assert r.mota <= 1.0 and 0.0 <= r.idf1 <= 1.0 and 0.0 <= r.hota <= 1.0
        # The chain is also scored with the coasting positions of confirmed tracks added.
        assert r.extra["mota_coasting"] <= 1.0 and 0.0 <= r.extra["idf1_coasting"] <= 1.0
    # The share of Rose-visible true points bounds a frame-by-frame detector; more at higher dose.
    low, high = (r.extra["visible_share"] for r in rows)
    assert 0.0 < low < high <= 1.0
    text = markdown_report(rows, TINY, TrackerConfig(), "cmd")
    assert "coasting through a missed detection" in text
    for share in (low, high):
        assert f"Detectability: {share:.3f} of the true particle points" in text


def test_truth_and_chain_share_the_video_at_the_scenario_dose():
    rows = evaluate([5], [5], TINY, engine_config=EngineConfig(name="classical"))
    assert [(r.source, r.dose_e_per_px) for r in rows] == [("truth", 20.0), ("classical", 20.0)]
    assert rows[0].n_true == rows[1].n_true


def test_report_has_a_table_per_source_and_dose_and_the_target_line(results):
    chain = chain_summary(EngineConfig(name="classical"), [200.0], [3])
    text = markdown_report(
        results, SMALL, TrackerConfig(), "nanolive track-eval --seeds 3", chain_lines=chain
    )
    assert "Tracker alone" in text and "Whole chain at 200 e/px (classical engine" in text
    assert "| 3 |" in text and "Targets (MOTA >= 0.95" in text
    assert "nanolive track-eval --seeds 3" in text
    assert "create_engine(EngineConfig(name='classical'" in text
    assert text.index("Tracker alone") < text.index("Whole chain at 200")


def test_cli_registers_track_eval_with_the_default_engine():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["track-eval", "--seeds", "1", "--chain-seeds", "--no-speed"])
    assert args.seeds == [1] and args.chain_seeds == [] and args.no_speed
    assert args.engine == EngineConfig().name and args.chain_dose[0] == 20.0
    assert callable(args.func)
    args = parser.parse_args(["track-eval", "--engine", "classical", "--chain-dose", "50"])
    assert args.engine == "classical" and args.chain_dose == [50.0]
    with pytest.raises(SystemExit):
        parser.parse_args(["track-eval", "--engine", "nope"])


def test_evaluate_rejects_bad_distance_and_dose():
    with pytest.raises(ValueError, match="match_distance_px"):
        evaluate([], [], SMALL, match_distance_px=0)
    with pytest.raises(ValueError, match="dose"):
        evaluate([], [1], TINY, chain_doses=(0.0,))


def test_chain_with_frame_integration_finds_more_at_low_dose():
    """Averaging 3 drift-aligned frames before segmentation (the pipeline's [integration]) lets
    the default engine find more of the particles a 20 e/px frame hides."""
    scenario = Scenario(shape=(192, 192), n_particles=24, dose_e_per_px=20.0, n_frames=10)
    rows = evaluate([], [7], scenario, chain_integrate=(1, 3))
    name = EngineConfig().name
    assert [r.source for r in rows] == [name, f"{name}, 3-frame integration"]
    single, integrated = rows
    assert single.n_true == integrated.n_true
    assert integrated.detections_per_frame > 1.05 * single.detections_per_frame  # 17.9 vs 16.1
    assert integrated.false_negatives < single.false_negatives
    text = markdown_report(rows, scenario, TrackerConfig(), "cmd")
    assert f"Whole chain at 20 e/px ({name} engine + particle_table on the noisy image)" in text
    assert "on the noisy image, 3-frame integration)" in text
    lines = chain_summary(EngineConfig(), [20.0], [7], [1, 3])
    assert any("'N-frame integration'" in line for line in lines)
    assert not any("integration" in line for line in chain_summary(EngineConfig(), [20.0], [7]))
    with pytest.raises(ValueError, match="integrations"):
        evaluate([], [7], TINY, chain_integrate=(0,))
