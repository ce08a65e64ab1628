"""The streaming tracker: identities, lifecycle, drift, merges and splits on hand-made scenes."""

import numpy as np
import pytest
from nanolive.trackers import Detections, Tracker, TrackerConfig


def det(xy, area=None):
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    area = np.full(len(xy), 50.0) if area is None else np.asarray(area, dtype=float)
    return Detections.from_arrays(xy[:, 0], xy[:, 1], area)


def brownian_scene(rng, n=60, frames=20, drift=(0.0, 0.0), step=1.0, shape=512):
    """Particles on a jittered grid (no collisions), Brownian steps plus a common drift."""
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n]
    xy = 40 + grid * (shape - 80) / side + rng.uniform(-3, 3, size=(n, 2))
    out = []
    for _ in range(frames):
        out.append(xy.copy())
        xy = xy + rng.normal(0, step, size=xy.shape) + drift
    return out


def run_shuffled(tracker, scene, rng, area=50.0):
    """Feed the scene in random detection order; return ids (frames, particles) in particle order."""
    ids = []
    for xy in scene:
        perm = rng.permutation(len(xy))
        u = tracker.update(det(xy[perm], np.full(len(xy), area)))
        assert np.all(u.track_ids >= 1) and u.track_ids.dtype == np.int64
        back = np.empty(len(xy), np.int64)
        back[perm] = u.track_ids
        ids.append(back)
    return np.array(ids)


def test_identities_are_stable_and_unique_under_brownian_motion():
    rng = np.random.default_rng(0)
    ids = run_shuffled(Tracker(TrackerConfig(drift="none")), brownian_scene(rng), rng)
    assert np.all(ids == ids[0])
    assert len(set(ids[0])) == ids.shape[1]


def test_large_drift_is_compensated_from_detections():
    rng = np.random.default_rng(1)
    scene = brownian_scene(rng, drift=(7.0, -5.0))
    cfg = TrackerConfig(max_distance_px=6.0, drift="detections", drift_max_px=15)
    ids = run_shuffled(Tracker(cfg), scene, rng)
    assert np.all(ids == ids[0])
    lost = run_shuffled(Tracker(TrackerConfig(max_distance_px=6.0, drift="none")), scene, rng)
    assert not np.all(lost == lost[0])  # without compensation the same gate loses the particles


def test_empty_frames_confirmation_coasting_and_deletion():
    cfg = TrackerConfig(min_hits=2, max_gap=2, drift="none")
    tr = Tracker(cfg, frame_interval_s=0.5)
    u0 = tr.update(det([[50, 50]]))
    assert not u0.confirmed[0] and u0.events == []
    u1 = tr.update(det([[51, 50]]))
    assert u1.confirmed[0]
    (appear,) = u1.events
    assert appear.kind == "appear" and appear.frame == 0 and appear.children == (u0.track_ids[0],)
    tid = int(u0.track_ids[0])
    tr.update(Detections.empty())
    tr.update(Detections.empty())
    u4 = tr.update(det([[52, 51]]))  # back after a 2-frame gap: same track
    assert u4.track_ids.tolist() == [tid]
    for _ in range(3):
        u = tr.update(Detections.empty())
    (gone,) = u.events
    assert gone.kind == "disappear" and gone.parents == (tid,) and gone.frame == 5
    assert gone.t_s == pytest.approx(2.5)
    assert u.active_tracks == 0
    u_new = tr.update(det([[52, 51]]))
    assert u_new.track_ids[0] != tid  # ids are never reused


def test_coasting_tracks_are_reported_with_predicted_positions():
    cfg = TrackerConfig(min_hits=2, max_gap=2, drift="none", field_shape=(100, 100))
    tr = Tracker(cfg)
    tr.update(det([[50, 50], [99.6, 20], [10, 10]]))
    u = tr.update(det([[52, 50], [99.8, 20]]))  # the third is only tentative when it is missed
    assert u.coasting_ids.size == 0
    u = tr.update(det([[54, 50]]))  # both confirmed; the second is missed at the right edge
    assert u.coasting_ids.tolist() == []  # predicted at x ~ 99.8 > 99 (last column): not shown
    u = tr.update(Detections.empty())
    (tid,) = u.coasting_ids.tolist()
    assert u.tracked_count == 1  # nothing detected, one confirmed track coasting in view
    assert u.coasting_xy.shape == (1, 2)
    assert 54 <= u.coasting_xy[0, 0] <= 58 and abs(u.coasting_xy[0, 1] - 50) < 1
    u = tr.update(det([[58, 50]]))
    assert u.track_ids.tolist() == [tid] and u.coasting_ids.size == 0


def test_track_leaving_the_field_is_reported():
    tr = Tracker(TrackerConfig(drift="none", max_gap=0, min_hits=1), frame_interval_s=1.0)
    image = np.zeros((100, 100))
    for x in (6.0, 4.0, 2.0):
        tr.update(det([[x, 50]]), image=image)
    (gone,) = tr.update(Detections.empty(), image=image).events
    assert gone.kind == "disappear" and gone.reason == "left_field"


def merging_pair(frames_before=5, frames_after=5, a_area=50.0, b_area=80.0):
    """Two particles closing in and coalescing (volume = area^1.5 conserved), plus bystanders."""
    bystanders = np.array([[300.0, 300.0], [400.0, 120.0], [150.0, 400.0]])
    seq = []
    for f in range(frames_before):
        a = np.array([100.0 + 0.5 * f, 100.0])
        b = np.array([114.0 - 0.5 * f, 100.0])
        seq.append((np.vstack([a, b, bystanders]), np.array([a_area, b_area, 40, 40, 40])))
    va, vb = a_area**1.5, b_area**1.5
    c_area = (va + vb) ** (2 / 3)
    c = (seq[-1][0][0] * va + seq[-1][0][1] * vb) / (va + vb)
    for f in range(frames_after):
        seq.append((np.vstack([c + [0.2 * f, 0], bystanders]), np.array([c_area, 40, 40, 40])))
    return seq


@pytest.mark.parametrize("new_id, confirm", [(True, 3), (False, 3), (True, 0)])
def test_merge_is_found_with_parents_and_child(new_id, confirm):
    cfg = TrackerConfig(drift="none", new_id_on_merge=new_id, merge_confirm_frames=confirm)
    tr = Tracker(cfg)
    seq = merging_pair(frames_after=6)
    updates = [tr.update(det(xy, area)) for xy, area in seq]
    a, b = int(updates[4].track_ids[0]), int(updates[4].track_ids[1])
    merges = [(k, e) for k, u in enumerate(updates) for e in u.events if e.kind == "merge"]
    assert len(merges) == 1
    ((reported_at, m),) = merges
    assert reported_at == 5 + confirm  # decided `confirm` frames later, dated to the merge frame
    assert m.frame == 5 and m.parents == tuple(sorted((a, b)))
    child = int(updates[5 + confirm].track_ids[0])
    assert m.children == (child,)
    assert (child not in (a, b)) if new_id else (child in (a, b))
    assert all(int(u.track_ids[0]) == child for u in updates[5 + confirm :])
    assert all(u.confirmed[0] for u in updates[5:])
    assert not [e for u in updates for e in u.events if e.kind == "disappear"]
    hist = tr.history().table()  # the offline record is relabelled back to the merge frame
    merged_rows = (hist["frame"] >= 5) & (hist["x"] < 200) & (hist["y"] < 200)
    assert set(hist["track_id"][merged_rows].tolist()) == {child}


def test_split_is_found_as_reversed_merge():
    tr = Tracker(TrackerConfig(drift="none"))
    seq = merging_pair(frames_after=6)[::-1]  # frames 0-5 one particle, then two
    updates = [tr.update(det(xy, area)) for xy, area in seq]
    splits = [(k, e) for k, u in enumerate(updates) for e in u.events if e.kind == "split"]
    assert len(splits) == 1
    ((reported_at, s),) = splits
    assert reported_at == 9 and s.frame == 6
    assert s.parents == (int(updates[5].track_ids[0]),)
    assert s.children == tuple(sorted(int(i) for i in updates[9].track_ids[:2]))
    assert s.parents[0] not in s.children
    assert not [
        e
        for u in updates
        for e in u.events
        if e.kind in ("merge", "appear") and u is not updates[1]
    ]


def test_segmentation_flicker_is_neither_merge_nor_split():
    """Two touching particles seen as one blob for one frame, then apart again."""
    tr = Tracker(TrackerConfig(drift="none"))
    seq = merging_pair(frames_after=1)  # 5 frames apart, 1 frame as one blob
    seq += [merging_pair()[4]] * 5  # apart again, at their last positions
    updates = [tr.update(det(xy, area)) for xy, area in seq]
    assert not [e for u in updates for e in u.events if e.kind in ("merge", "split")]
    assert updates[-1].track_ids[:2].tolist() == updates[4].track_ids[:2].tolist()


def test_a_missed_detection_next_to_a_neighbour_is_not_a_merge():
    tr = Tracker(TrackerConfig(drift="none"))
    seq = merging_pair(frames_after=0)
    xy, area = seq[-1]
    seq.append((np.delete(xy, 0, axis=0), np.delete(area, 0)))  # A not detected, B unchanged
    seq.append((xy, area))  # A back
    updates = [tr.update(det(x, a)) for x, a in seq]
    assert not [e for u in updates for e in u.events if e.kind in ("merge", "split")]
    assert updates[-1].track_ids[0] == updates[-3].track_ids[0]


def test_summaries_recover_diffusion_and_growth():
    rng = np.random.default_rng(5)
    d_true, sigma, dt = 0.8, 0.4, 0.5  # px^2/s, px, s
    n, frames = 40, 60
    scene = brownian_scene(rng, n=n, frames=frames, step=np.sqrt(2 * d_true * dt))
    tr = Tracker(TrackerConfig(drift="none"), frame_interval_s=dt, pixel_size_nm=2.0)
    for f, xy in enumerate(scene):
        diam = 6.0 + 0.1 * f * dt  # grows 0.1 px/s
        area = np.full(n, np.pi * diam**2 / 4)
        tr.update(det(xy + rng.normal(0, sigma, size=xy.shape), area))
    s = tr.summaries()
    assert s["track_id"].size == n
    assert np.median(s["diffusion_px2_per_s"]) == pytest.approx(d_true, rel=0.15)
    assert np.median(s["diffusion_msd_px2_per_s"]) == pytest.approx(d_true, rel=0.2)
    assert np.median(s["localization_error_px"]) == pytest.approx(sigma, rel=0.25)
    np.testing.assert_allclose(s["diameter_growth_px_per_s"], 0.1, rtol=1e-6)
    np.testing.assert_allclose(s["diameter_growth_nm_per_s"], 0.2, rtol=1e-6)
    assert np.median(s["diffusion_nm2_per_s"]) == pytest.approx(4 * d_true, rel=0.15)


def test_bad_input_and_config_are_rejected():
    with pytest.raises(ValueError, match="min_hits"):
        TrackerConfig(min_hits=0)
    with pytest.raises(ValueError, match="drift"):
        TrackerConfig(drift="magic")
    with pytest.raises(ValueError, match="unknown tracker setting"):
        TrackerConfig.from_dict({"max_distance": 3})
    with pytest.raises(ValueError, match="area_px"):
        Detections.from_arrays([1.0], [2.0], [0.0])
    with pytest.raises(ValueError, match="expected 2"):
        Detections(x=[1.0, 2.0], y=[1.0], area_px=[1.0, 1.0], label=[1, 2])
    with pytest.raises(ValueError, match="frame_interval_s"):
        Tracker(frame_interval_s=0)
    tr = Tracker()
    tr.finish()
    with pytest.raises(RuntimeError, match="finish"):
        tr.update(Detections.empty())


def test_finish_decides_a_pending_merge_and_ends_coasting_tracks():
    tr = Tracker(TrackerConfig(drift="none"))
    seq = merging_pair(frames_after=2)  # the merge is 1 frame before the end: still pending
    events = [e for xy, area in seq for e in tr.update(det(xy, area)).events]
    assert not [e for e in events if e.kind == "merge"]
    tr.update(det(seq[-1][0][1:], seq[-1][1][1:]))  # the merged particle is not detected
    final = tr.finish()
    (merge,) = [e for e in final if e.kind == "merge"]
    assert merge.frame == 5
    ends = [e for e in final if e.kind == "disappear"]
    assert [e.reason for e in ends] == ["end"] and ends[0].parents == merge.children
    assert tr.finish() == []


def test_kalman_update_touches_only_matched_tracks():
    rng = np.random.default_rng(3)
    tracker = Tracker(TrackerConfig())
    model = tracker._model
    x, cov = model.predict(*model.initial_state(rng.uniform(0, 100, size=(7, 3))))
    matched = np.array([True, False, True, True, False, False, True])
    rows = np.flatnonzero(matched)
    cols = np.array([3, 0, 4, 1])
    dx, dy, dd = rng.uniform(0, 100, size=(3, 5))
    z = np.stack([dx[cols], dy[cols], dd[cols]], axis=1)
    x_new, cov_new = tracker._update_matched(x, cov, matched, rows, z)
    x_ref, cov_ref = model.update(x[rows], cov[rows], z)
    np.testing.assert_array_equal(x_new[rows], x_ref)
    np.testing.assert_array_equal(cov_new[rows], cov_ref)
    np.testing.assert_array_equal(x_new[~matched], x[~matched])
    np.testing.assert_array_equal(cov_new[~matched], cov[~matched])
