"""Merge/split candidates from one frame's arrays (pure functions), all four configurations."""

import numpy as np
from nanolive.trackers.events import (
    FrameParts,
    PendingEvent,
    find_merges,
    find_splits,
    pending_verdict,
)

NAN2 = [np.nan, np.nan]


def parts(det_xy, det_area, prev_xy, prev_area, ended_xy, ended_area):
    return FrameParts(
        det_xy=np.array(det_xy, float).reshape(-1, 2),
        det_area=np.array(det_area, float),
        det_prev_xy=np.array(prev_xy, float).reshape(-1, 2),
        det_prev_area=np.array(prev_area, float),
        ended_xy=np.array(ended_xy, float).reshape(-1, 2),
        ended_area=np.array(ended_area, float),
    )


def merged_area(*areas):
    return sum(a**1.5 for a in areas) ** (2 / 3)


def test_merge_into_the_linked_track_and_into_a_new_detection():
    c = merged_area(50, 80)
    # A (ended, at 100) + B (linked to detection 0, was at 112) -> detection 0
    p = parts(
        [[107, 100], [300, 300]], [c, 40], [[112, 100], [300, 300]], [80, 40], [[100, 100]], [50]
    )
    (m,) = find_merges(p, 0.2, 6.0)
    assert (m.ended, m.det, m.with_linked) == ((0,), 0, True) and m.volume_error < 0.01
    # A and B both ended, the product is a new detection
    p = parts([[107, 100]], [c], [NAN2], [np.nan], [[100, 100], [112, 100]], [50, 80])
    (m,) = find_merges(p, 0.2, 6.0)
    assert (sorted(m.ended), m.det, m.with_linked) == ([0, 1], 0, False)
    # unchanged neighbour volume: a missed detection, not a merge
    p = parts([[112, 100]], [80], [[112, 100]], [80], [[100, 100]], [50])
    assert find_merges(p, 0.4, 6.0) == []
    # parents too far apart
    p = parts([[107, 100]], [c], [[140, 100]], [80], [[100, 100]], [50])
    assert find_merges(p, 0.2, 6.0) == []


def test_split_off_a_linked_track_and_into_two_new_detections():
    c = merged_area(50, 80)
    # track linked to detection 1 had the volume of both; detection 0 is new
    p = parts(
        [[100, 100], [112, 100]], [50, 80], [NAN2, [107, 100]], [np.nan, c], np.zeros((0, 2)), []
    )
    (s,) = find_splits(p, 0.2, 6.0)
    assert (s.dets, s.ended) == ((1, 0), None)
    # the parent ended, both products are new
    p = parts([[100, 100], [112, 100]], [50, 80], [NAN2, NAN2], [np.nan, np.nan], [[107, 100]], [c])
    (s,) = find_splits(p, 0.2, 6.0)
    assert (sorted(s.dets), s.ended) == ([0, 1], 0)


def test_pending_verdict_uses_averaged_areas_and_presence():
    c = merged_area(50, 80)
    ev = PendingEvent(
        "merge", 5, 0.5, 0.0, 0.0, (1, 2), (2,), 2, (50**1.5, 80**1.5), 8, [4 * c], [4]
    )
    assert pending_verdict(ev, 0.2)
    ev.child_area_sum[0] = 4 * 80.0  # the child is just the survivor
    assert not pending_verdict(ev, 0.2)
    ev.child_area_sum[0], ev.child_area_count[0] = c, 1  # seen once in 4 frames
    assert not pending_verdict(ev, 0.2)
