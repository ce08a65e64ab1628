"""The evaluation chain on a small simulated video: scores, report, CLI."""

import argparse

import pytest
from nanolive.trackers import TrackerConfig
from nanolive.trackers.cli import register
from nanolive.trackers.evaluation import Scenario, evaluate
from nanolive.trackers.report import markdown_report

SMALL = Scenario(shape=(160, 160), n_particles=14, dose_e_per_px=200.0, n_frames=12)


@pytest.fixture(scope="module")
def results():
    return evaluate([3], [3], SMALL, TrackerConfig())


def test_small_video_scores_are_sane(results):
    by_source = {r.source: r for r in results}
    assert set(by_source) == {"truth", "classical"}
    truth = by_source["truth"]
    assert truth.n_true > 100
    # true detections: the only losses are the first frame of each track (before confirmation)
    assert truth.mota > 0.9 and truth.idf1 > 0.9 and truth.false_positives == 0
    for r in results:
        assert r.mota <= 1.0 and 0.0 <= r.idf1 <= 1.0 and 0.0 <= r.hota <= 1.0
    assert by_source["classical"].n_true == truth.n_true


def test_report_has_a_table_per_source_and_the_target_line(results):
    text = markdown_report(results, SMALL, TrackerConfig(), "nanolive track-eval --seeds 3")
    assert "Tracker alone" in text and "Whole chain" in text
    assert "| 3 |" in text and "Targets (MOTA >= 0.95" in text
    assert "nanolive track-eval --seeds 3" in text


def test_cli_registers_track_eval():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["track-eval", "--seeds", "1", "--chain-seeds", "--no-speed"])
    assert args.seeds == [1] and args.chain_seeds == [] and args.no_speed
    assert callable(args.func)


def test_evaluate_rejects_bad_distance():
    with pytest.raises(ValueError, match="match_distance_px"):
        evaluate([], [], SMALL, match_distance_px=0)
