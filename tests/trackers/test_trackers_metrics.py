"""Tracking metrics on hand-made sequences with known answers."""

import numpy as np
import pytest
from nanolive.trackers.metrics import Points, clear_mot, event_scores, hota, identity_scores


def frames(ids_per_frame, xy_per_frame):
    return [Points(ids, xy) for ids, xy in zip(ids_per_frame, xy_per_frame, strict=True)]


def line(n_frames, y=10.0, x0=0.0, step=1.0):
    return [np.array([[x0 + step * t, y]]) for t in range(n_frames)]


def test_perfect_tracking_scores_one():
    truth = [Points([1, 2], [[t, 0.0], [t, 50.0]]) for t in range(10)]
    pred = [Points([7, 9], [[t + 0.5, 0.0], [t, 50.0]]) for t in range(10)]
    m = clear_mot(truth, pred, 3.0)
    assert (m.mota, m.id_switches, m.false_negatives, m.false_positives) == (1.0, 0, 0, 0)
    assert m.motp_px == pytest.approx(0.25)
    assert identity_scores(truth, pred, 3.0).idf1 == 1.0
    h = hota(truth, pred, 3.0)
    assert h.assa == pytest.approx(1.0) and h.hota > 0.8 and h.hota < 1.0  # 0.5 px costs LocA
    exact = hota(truth, truth, 3.0)
    assert exact.hota == pytest.approx(1.0)


def test_one_identity_switch():
    truth = frames([[1]] * 10, line(10))
    pred = frames([[5]] * 5 + [[6]] * 5, line(10))
    m = clear_mot(truth, pred, 2.0)
    assert m.id_switches == 1 and m.mota == pytest.approx(0.9)
    idf = identity_scores(truth, pred, 2.0)
    assert (idf.idtp, idf.idf1) == (5, pytest.approx(0.5))
    h = hota(truth, pred, 2.0)
    assert h.deta == pytest.approx(1.0)
    assert h.assa == pytest.approx(0.5)
    assert h.hota == pytest.approx(np.sqrt(0.5))


def test_swap_of_two_close_objects_counts_two_switches():
    a = [np.array([[t, 0.0], [t, 3.0]]) for t in range(8)]
    truth = frames([[1, 2]] * 8, a)
    pred = frames([[10, 20]] * 4 + [[20, 10]] * 4, a)
    m = clear_mot(truth, pred, 2.0)
    assert m.id_switches == 2
    assert m.mota == pytest.approx(1 - 2 / 16)


def test_misses_false_positives_and_far_points():
    truth = frames([[1], [1], [1], [1]], line(4))
    pred = [
        Points([3], [[0.0, 10.0]]),
        Points([], np.zeros((0, 2))),  # miss
        Points([3, 4], [[2.0, 10.0], [100.0, 100.0]]),  # extra
        Points([3], [[3.0, 30.0]]),  # too far: a miss and a false positive
    ]
    m = clear_mot(truth, pred, 5.0)
    assert (m.false_negatives, m.false_positives, m.id_switches) == (2, 2, 0)
    assert m.mota == pytest.approx(1 - 4 / 4)
    idf = identity_scores(truth, pred, 5.0)
    assert idf.idtp == 2 and idf.idf1 == pytest.approx(2 * 2 / (4 + 4))


def test_previous_correspondence_is_kept_over_a_closer_newcomer():
    truth = frames([[1]] * 3, line(3))
    pred = [
        Points([5], [[0.0, 11.0]]),
        Points([5, 6], [[1.0, 11.5], [1.0, 10.0]]),  # 6 is closer, but 5 is still valid
        Points([5], [[2.0, 11.0]]),
    ]
    m = clear_mot(truth, pred, 2.0)
    assert m.id_switches == 0 and m.false_positives == 1


def test_event_scores_match_within_time_and_distance():
    true = np.array([[10, 100, 100], [20, 200, 200], [30, 300, 300]])
    pred = np.array([[11, 102, 99], [20, 260, 200], [29, 300, 301], [29, 301, 300]])
    s = event_scores(true, pred, max_frames=2, max_distance_px=10)
    assert (s.true_positives, s.false_positives, s.false_negatives) == (2, 2, 1)
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(2 / 3)
    empty = event_scores(np.zeros((0, 3)), pred)
    assert empty.false_positives == 4 and np.isnan(empty.recall)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="frames"):
        clear_mot([Points([1], [[0, 0]])], [], 1.0)
    with pytest.raises(ValueError, match="unique"):
        Points([1, 1], [[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="max_distance_px"):
        hota([], [], 0.0)
