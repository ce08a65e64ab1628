"""The whole chain scored on a video with true masks (trackers.realvideo)."""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.engines.base import EngineConfig
from nanolive.engines.registry import create_engine
from nanolive.trackers import TrackerConfig
from nanolive.trackers.metrics import Points
from nanolive.trackers.realvideo import (
    identity_runs,
    masked_video_table,
    median_true_diameter_px,
    score_masked_video,
    truth_points_of_labels,
)


def disk_video(n_frames: int, step_px: int, shape=(64, 96)) -> tuple[list, list]:
    """A bright disk (radius 6 px) moving ``step_px`` per frame along x, and its true labels."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    images, labels = [], []
    for i in range(n_frames):
        disk = (rows - 32) ** 2 + (cols - 15 - step_px * i) ** 2 <= 36
        images.append(np.where(disk, 400.0, 30.0).astype(np.float32))
        labels.append(disk.astype(np.int32))
    return images, labels


def test_truth_points_are_label_centroids():
    lab = np.zeros((10, 12), np.int32)
    lab[2:4, 3:7] = 5  # centroid row 2.5, col 4.5
    pts = truth_points_of_labels([lab])[0]
    assert pts.ids.tolist() == [5]
    np.testing.assert_allclose(pts.xy, [[4.5, 2.5]])
    assert median_true_diameter_px([lab]) == pytest.approx(2 * np.sqrt(8 / np.pi))


def test_identity_runs_count_tracks_and_the_longest_run():
    truth = [Points([1], [[10.0, 10.0]]) for _ in range(6)]
    ids = [7, 7, 7, 9, 9, 7]
    pred = [Points([i], [[11.0, 10.0]]) for i in ids]
    assert identity_runs(truth, pred, 5.0) == (2, 3, pytest.approx(1.0))
    far = [Points([7], [[30.0, 10.0]]) for _ in range(6)]  # never within the match distance
    tracks, longest, error = identity_runs(truth, far, 5.0)
    assert (tracks, longest) == (0, 0) and np.isnan(error)


def test_a_clean_moving_particle_is_one_track_over_the_video():
    images, labels = disk_video(8, step_px=3)
    engine = create_engine(EngineConfig(name="classical"))
    scores = score_masked_video("disk", "defaults", images, labels, engine, TrackerConfig())
    # scored: every detection of a track confirmed at some point, its first frame included
    assert scores.mota == pytest.approx(1.0)
    assert scores.tracks_on_truth == 1 and scores.longest_run == 8
    assert scores.id_switches == 0 and scores.centroid_error_px < 0.5
    assert "| disk | defaults | 8 | 1.000 |" in "\n".join(masked_video_table([scores]))


def test_steps_beyond_the_gate_break_the_track_unless_the_gate_is_widened():
    images, labels = disk_video(8, step_px=9)
    engine = create_engine(EngineConfig(name="classical"))
    tight = score_masked_video(
        "disk", "tight", images, labels, engine, TrackerConfig(max_distance_px=5.0)
    )
    wide = score_masked_video(
        "disk",
        "wide",
        images,
        labels,
        engine,
        TrackerConfig(max_distance_px=30.0, diffusion_sigma_px=8.0),
    )
    assert tight.longest_run < 8 and tight.idf1 < 0.9
    assert wide.longest_run == 8 and wide.mota == pytest.approx(1.0)


def test_a_masked_video_needs_one_label_image_per_frame():
    images, labels = disk_video(3, step_px=1)
    engine = create_engine(EngineConfig(name="classical"))
    with pytest.raises(ValueError, match="one label image per frame"):
        score_masked_video("d", "s", images, labels[:2], engine, TrackerConfig())
