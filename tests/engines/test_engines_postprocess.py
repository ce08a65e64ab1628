"""Pre/post-processing and training targets: touching particles split, shapes survive padding."""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.engines.postprocess import (
    instances_from_logits,
    normalise_frame,
    pad_to_multiple,
)
from nanolive.engines.targets import core_map, separation_pixels, targets_from_labels


def two_touching_discs(shape=(40, 60), r=8.0) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    labels = np.zeros(shape, np.int32)
    labels[(yy - 20) ** 2 + (xx - 20) ** 2 <= r * r] = 1
    labels[(yy - 20) ** 2 + (xx - 35) ** 2 <= r * r] = 2  # overlaps disc 1: they touch
    return labels


def test_targets_separate_cores_of_touching_instances() -> None:
    labels = two_touching_discs()
    core = core_map(labels)
    assert core[labels == 1].any() and core[labels == 2].any()
    from scipy import ndimage as ndi

    _, n = ndi.label(core)
    assert n == 2  # one core per particle, not one merged blob
    assert not (core & separation_pixels(labels)).any()
    t = targets_from_labels(labels)
    assert t.shape == (2, *labels.shape) and t.dtype == np.float32
    assert (t[1] <= t[0]).all()


def test_logits_of_touching_discs_give_two_instances() -> None:
    labels = two_touching_discs()
    t = targets_from_labels(labels)
    logits = (t * 2 - 1) * 5
    pred = instances_from_logits(logits)
    assert pred.max() == 2
    assert ((pred > 0) == (labels > 0)).all()
    # each predicted instance lies mostly on one true instance
    for k in (1, 2):
        overlap = np.bincount(labels[pred == k], minlength=3)
        assert overlap.max() / overlap.sum() > 0.9


def test_foreground_without_core_is_kept_and_specks_are_dropped() -> None:
    logits = np.full((2, 30, 30), -5.0, np.float32)
    logits[0, 5:15, 5:15] = 5  # foreground, no core anywhere
    logits[0, 25, 25] = 5  # a 1 px speck
    pred = instances_from_logits(logits, min_area_px=4)
    assert pred.max() == 1 and (pred > 0).sum() == 100


def test_empty_and_bad_logits() -> None:
    assert instances_from_logits(np.full((2, 8, 8), -1.0)).max() == 0
    with pytest.raises(ValueError, match="logits"):
        instances_from_logits(np.zeros((3, 8, 8)))


def test_normalise_is_contrast_and_offset_invariant() -> None:
    rng = np.random.default_rng(1)
    img = rng.normal(100, 10, (64, 64)).astype(np.float32)
    a = normalise_frame(img)
    b = normalise_frame(img * 3 + 1000)
    assert np.allclose(a, b, atol=1e-4)
    assert a.min() >= -2 and a.max() <= 2
    assert not normalise_frame(np.full((64, 64), 7.0)).any()


def test_pad_to_multiple_handles_odd_sizes() -> None:
    x = np.arange(2 * 1 * 37 * 61, dtype=np.float32).reshape(2, 1, 37, 61)
    padded, (h, w) = pad_to_multiple(x, 16)
    assert padded.shape == (2, 1, 48, 64) and (h, w) == (37, 61)
    assert np.array_equal(padded[..., :h, :w], x)


def test_faint_blobs_are_dropped() -> None:
    logits = np.full((2, 30, 30), -5.0, np.float32)
    logits[:, 3:10, 3:10] = 4.0  # confident particle
    logits[:, 15:25, 15:25] = 1.0  # foreground and core, but never confident
    pred = instances_from_logits(logits)
    assert pred.max() == 1 and pred[5, 5] == 1 and pred[20, 20] == 0
    assert instances_from_logits(logits, min_peak_logit=0.5).max() == 2


def reference_instances(fg: np.ndarray, core: np.ndarray) -> np.ndarray:
    """The definition seeded_labels must reproduce: a whole-frame watershed, then seedless blobs."""
    from scipy import ndimage as ndi
    from skimage.segmentation import watershed

    eight = np.ones((3, 3), dtype=bool)
    seeds, n_seeds = ndi.label(fg & (core > 0), structure=eight)
    labels = watershed(-core, seeds, mask=fg, connectivity=2).astype(np.int32)
    extra, _ = ndi.label(fg & (labels == 0), structure=eight)
    return np.where(extra > 0, extra + n_seeds, labels)


@pytest.mark.parametrize("seed", range(12))
def test_seeded_labels_equal_a_whole_frame_watershed(seed: int) -> None:
    from nanolive.engines.postprocess import seeded_labels
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    logits = ndi.gaussian_filter(rng.normal(size=(2, 96, 128)), 2.5) * 40
    fg, core = logits[0] > 0, logits[1]
    seeds, n_seeds = ndi.label(fg & (core > 0), structure=np.ones((3, 3), dtype=bool))
    got = seeded_labels(fg, seeds, n_seeds, core)
    want = reference_instances(fg, core)
    assert want.max() > 5 and np.array_equal(got, want)
