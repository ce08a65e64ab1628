"""Drift estimation: sign convention and accuracy from images and from detections."""

import numpy as np
import pytest
from nanolive.trackers import detection_drift, phase_drift
from scipy import ndimage as ndi


def blobs(shape, xy, sigma=2.0):
    img = np.zeros(shape, np.float32)
    for x, y in xy:
        img[int(round(y)) % shape[0], int(round(x)) % shape[1]] += 100
    return ndi.gaussian_filter(img, sigma)


def test_phase_drift_returns_content_motion():
    rng = np.random.default_rng(0)
    xy = rng.uniform(20, 236, size=(40, 2))
    a = blobs((256, 256), xy)
    b = blobs((256, 256), xy + [6.0, -4.0])
    dx, dy = phase_drift(a, b, downsample=2)
    assert dx == pytest.approx(6.0, abs=0.5)
    assert dy == pytest.approx(-4.0, abs=0.5)
    with pytest.raises(ValueError, match="shape"):
        phase_drift(a, b[:100])


def test_detection_drift_is_robust_to_brownian_steps_and_outliers():
    rng = np.random.default_rng(1)
    pred = rng.uniform(0, 512, size=(150, 2))
    det = pred + [3.0, 5.0] + rng.normal(0, 1.0, size=pred.shape)
    det = np.concatenate([det[:130], rng.uniform(0, 512, size=(30, 2))])  # 20 lost, 30 spurious
    dx, dy = detection_drift(pred, det, max_px=15)
    assert dx == pytest.approx(3.0, abs=0.4)
    assert dy == pytest.approx(5.0, abs=0.4)
    assert detection_drift(pred[:2], det, max_px=15) == (0.0, 0.0)


def test_tracker_uses_phase_correlation_when_images_are_given():
    from nanolive.trackers import Detections, Tracker, TrackerConfig

    rng = np.random.default_rng(2)
    xy = rng.uniform(30, 226, size=(30, 2))
    tr = Tracker(TrackerConfig(drift="phase", max_distance_px=4.0))
    shift = np.array([5.0, 3.0])
    ids = []
    for f in range(4):
        pos = xy + f * shift
        u = tr.update(Detections.from_arrays(pos[:, 0], pos[:, 1]), image=blobs((256, 256), pos))
        ids.append(u.track_ids)
        if f:
            assert u.drift_px == pytest.approx(tuple(shift), abs=0.6)
    assert all((i == ids[0]).all() for i in ids)  # 5.8 px steps, 4 px gate: drift made it work


@pytest.mark.parametrize("n", [9, 10])
def test_displacement_drift_is_the_median_near_the_mode(n):
    from nanolive.trackers.drift import drift_from_displacements

    rng = np.random.default_rng(n)
    disp = np.array([2.0, -1.0]) + rng.normal(0, 0.5, size=(n, 2))  # all within 2.5 px of the mode
    outliers = np.array([[9.0, 9.0], [-9.0, 8.0]])
    dx, dy = drift_from_displacements(np.concatenate([disp, outliers]), max_px=12.0)
    assert (dx, dy) == (float(np.median(disp[:, 0])), float(np.median(disp[:, 1])))
