"""Evaluation metrics on hand-made masks whose scores are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nanolive.engines.metrics import (
    PixelScores,
    centroids_xy,
    iou_matrix,
    match_boxes,
    score_image,
    summarise,
)


def test_pixel_scores_match_hand_computation() -> None:
    truth = np.zeros((4, 5), int)
    truth[0, :4] = 1  # 4 true pixels
    pred = np.zeros((4, 5), int)
    pred[0, 2:5] = 7  # 3 predicted: 2 right, 1 wrong
    s = PixelScores.of(truth, pred)
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 1, 2, 15)
    assert s.dice == pytest.approx(4 / 7)
    assert s.accuracy == pytest.approx(17 / 20)
    assert s.miou == pytest.approx((2 / 5 + 15 / 18) / 2)
    po, pe = 17 / 20, (3 * 4 + 17 * 16) / 400
    assert s.kappa == pytest.approx((po - pe) / (1 - pe))


def test_perfect_and_empty_predictions() -> None:
    truth = np.zeros((8, 8), int)
    truth[2:4, 2:4] = 1
    perfect = PixelScores.of(truth, truth)
    assert perfect.dice == perfect.kappa == perfect.miou == perfect.accuracy == 1.0
    empty = PixelScores.of(truth, np.zeros_like(truth))
    assert empty.dice == 0.0 and empty.kappa == 0.0


def test_instance_f1_count_and_diameter_errors() -> None:
    truth = np.zeros((20, 20), int)
    truth[0:4, 0:4] = 1  # 16 px
    truth[10:14, 10:14] = 2  # 16 px
    pred = np.zeros_like(truth)
    pred[0:4, 0:3] = 5  # IoU 12/16 = 0.75 with truth 1
    pred[10:12, 10:14] = 3  # IoU 8/16 = 0.5 with truth 2
    pred[18:20, 18:20] = 9  # a false positive
    iou = iou_matrix(truth, pred)
    assert iou.shape == (2, 3)
    s = score_image(truth, pred)
    assert (s.inst50.tp, s.inst50.fp, s.inst50.fn) == (2, 1, 0)
    assert (s.inst75.tp, s.inst75.fp, s.inst75.fn) == (1, 2, 1)
    d16, d12, d8 = (2 * math.sqrt(a / math.pi) for a in (16, 12, 8))
    assert sorted(s.diameter_abs_err_px) == pytest.approx(sorted([d16 - d12, d16 - d8]))
    m = summarise([s])
    assert m["f1_iou50"] == pytest.approx(4 / 5)
    assert m["f1_iou75"] == pytest.approx(2 / 5)
    assert m["count_rel_err_mean"] == pytest.approx(0.5)


def test_box_centre_matching_uses_each_box_once() -> None:
    boxes = np.array([[10.0, 10.0, 6.0, 6.0], [30.0, 10.0, 4.0, 4.0]])  # cx, cy, w, h
    centres = np.array([[11.0, 9.0], [9.0, 11.0], [50.0, 50.0]])  # two in box 0, one nowhere
    c = match_boxes(boxes, centres)
    assert (c.tp, c.fp, c.fn) == (1, 2, 1)


def test_centroids_are_x_then_y() -> None:
    labels = np.zeros((10, 20), int)
    labels[2:5, 14:17] = 4
    assert centroids_xy(labels) == pytest.approx(np.array([[15.0, 3.0]]))


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="shape mismatch"):
        PixelScores.of(np.zeros((3, 3)), np.zeros((3, 4)))


def test_recall_on_rose_visible_particles() -> None:
    truth = np.zeros((20, 20), int)
    truth[0:4, 0:4] = 3  # found, faint (SNR 2)
    truth[10:14, 10:14] = 5  # missed, visible (SNR 8)
    truth[16:20, 0:4] = 8  # found, no measurable SNR: counts as visible
    pred = np.zeros_like(truth)
    pred[0:4, 0:4] = 1
    pred[16:20, 0:4] = 2
    s = score_image(truth, pred, truth_snr=np.array([2.0, 8.0, np.nan]))
    assert (s.visible.tp, s.visible.fn) == (1, 1)
    m = summarise([s, s])
    assert m["visible_share"] == pytest.approx(2 / 3)
    assert m["recall_visible"] == pytest.approx(1 / 2)
    assert m["recall_iou50"] == pytest.approx(2 / 3)
    # without SNRs (real sets) there is nothing to report
    assert "visible_share" not in summarise([score_image(truth, pred)])
    assert "visible_share" not in summarise([s, score_image(truth, pred)])
