"""Pre/post-processing and training targets: touching particles split, shapes survive padding."""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.engines.postprocess import (
    convex_kept_whole,
    core_seeds,
    instances_from_logits,
    native_is_unsure,
    normalise_frame,
    pad_to_multiple,
    rescue_factor,
    rescue_factors,
    sure_fraction,
)
from nanolive.engines.targets import core_map, separation_pixels, targets_from_labels
from scipy import ndimage as ndi


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


def bridged_cores(bridge_logit: float, r: float = 4.0, gap: int = 7) -> np.ndarray:
    """Logits of two touching discs of radius ``r`` px whose cores (logit 4) join through a bridge
    of ``bridge_logit``."""
    yy, xx = np.mgrid[:40, :60]
    logits = np.full((2, 40, 60), -5.0, np.float32)
    for cx in (20, 20 + gap):
        disc = (yy - 20) ** 2 + (xx - cx) ** 2 <= r * r
        logits[0][disc] = 5.0
        logits[1][(yy - 20) ** 2 + (xx - cx) ** 2 <= (r / 2) ** 2] = 4.0
    bridge = np.s_[19:22, 20 : 21 + gap]
    logits[1][bridge] = np.maximum(logits[1][bridge], bridge_logit)
    return logits


def test_a_weak_bridge_between_two_small_cores_still_gives_two_instances() -> None:
    """The network's core output often joins touching small particles through a weakly positive
    bridge: each strong island then seeds its own particle (CORE_SPLIT_LOGIT 1)."""
    for bridge, want in ((0.5, 2), (3.0, 1)):
        logits = bridged_cores(bridge)
        region = (logits[0] > 0) & (logits[1] > 0)
        regions, n_regions = ndi.label(region, structure=np.ones((3, 3), bool))
        assert n_regions == 1  # the bridge joins the two cores
        seeds, n = core_seeds(regions, n_regions, logits[1])
        assert np.unique(seeds[seeds > 0]).size == want and seeds.max() <= n
        assert instances_from_logits(logits, split_cores=True).max() == want
    # off (the default): one seed per connected core region
    assert instances_from_logits(bridged_cores(0.5)).max() == 1


def test_cores_of_large_particles_are_not_split() -> None:
    """Frames of large particles (median diameter > 16 px) keep one seed per core region: their
    cores hold texture islands, not separate particles."""
    large = bridged_cores(0.5, r=12.0, gap=20)
    assert instances_from_logits(large, split_cores=True).max() == 1
    region = (large[0] > 0) & (large[1] > 0)
    _, n = core_seeds(*ndi.label(region, structure=np.ones((3, 3), bool)), large[1])
    assert n > 1  # the seeds alone would split it


def test_a_split_is_kept_only_where_the_outline_is_waisted() -> None:
    """Two touching discs (a waisted outline) stay split; a single ellipse cut in two is kept
    whole (its outline is convex)."""
    yy, xx = np.mgrid[:40, :80]
    pair = ((yy - 20) ** 2 + (xx - 15) ** 2 <= 36) | ((yy - 20) ** 2 + (xx - 26) ** 2 <= 36)
    ellipse = ((yy - 20) / 5.0) ** 2 + ((xx - 60) / 12.0) ** 2 <= 1
    whole = pair.astype(np.int32) + 2 * ellipse.astype(np.int32)
    split = np.where(pair, np.where(xx < 21, 1, 2), 0) + np.where(
        ellipse, np.where(xx < 60, 3, 4), 0
    )
    out = convex_kept_whole(whole, split.astype(np.int32), 0.9)
    assert len(np.unique(out[pair])) == 2  # the pair stays two particles
    assert len(np.unique(out[ellipse])) == 1  # the ellipse is one again
    assert out.max() == 3 and (out > 0).sum() == (whole > 0).sum()
    # nothing divided: the split labels come back as they are
    np.testing.assert_array_equal(convex_kept_whole(whole, whole, 0.9), whole)


def test_core_seeds_ignore_tiny_islands_and_keep_unsplit_regions_whole() -> None:
    core = np.full((20, 30), -5.0)
    core[2:8, 2:12] = 0.5  # a weak region with one strong island and a 1 px one
    core[3:6, 3:6] = 3.0
    core[4, 10] = 3.0
    core[12:18, 15:25] = 2.0  # a second region, strong throughout
    region = core > 0
    seeds, n = core_seeds(*ndi.label(region, structure=np.ones((3, 3), bool)), core)
    assert np.unique(seeds[seeds > 0]).size == 2 and seeds.max() <= n
    # unsplit regions are seeded whole, not just their strong part
    assert (seeds > 0).sum() == region.sum()
    empty, n0 = core_seeds(np.zeros((5, 5), np.int32), 0, np.zeros((5, 5)))
    assert n0 == 0 and not empty.any()


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


def discs(shape, centres, radius) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    labels = np.zeros(shape, np.int32)
    for k, (y, x) in enumerate(centres, start=1):
        labels[(yy - y) ** 2 + (xx - x) ** 2 <= radius**2] = k
    return labels


def test_downscale_factor_follows_the_area_weighted_particle_size() -> None:
    from nanolive.engines.postprocess import area_weighted_median_diameter, downscale_factor

    small = discs((256, 256), [(40, 40), (40, 120), (120, 40)], 5)
    assert downscale_factor(small) == 1
    big = discs((512, 512), [(130, 130), (130, 380), (380, 200)], 50)  # ~100 px across
    assert downscale_factor(big) == 2
    # Many texture specks do not hide two large particles: the median is weighted by area.
    specks = discs((512, 512), [(20 + 12 * i, 480) for i in range(40)], 2)
    mixed = np.where(big > 0, big, np.where(specks > 0, specks + 10, 0))
    assert area_weighted_median_diameter(mixed) > 90 and downscale_factor(mixed) == 2
    huge = discs((1024, 1024), [(512, 512)], 400)
    assert downscale_factor(huge) == 8  # capped
    assert downscale_factor(np.zeros((32, 32), np.int32)) == 1


def test_block_mean_and_upsampling_keep_pixel_areas_aligned() -> None:
    from nanolive.engines.postprocess import block_mean, upsample_logits

    image = np.arange(8 * 10, dtype=np.float32).reshape(8, 10)
    small = block_mean(image, 4)
    assert small.shape == (2, 2) and small[0, 0] == image[:4, :4].mean()
    logits = np.zeros((2, 2, 2), np.float32)
    logits[0, 0, 0] = 8.0  # the top-left block is foreground
    up = upsample_logits(logits, 4, (9, 11))
    assert up.shape == (2, 9, 11)
    assert (up[0, :4, :4] > 2).all() and (up[0, 6:, 6:] < 2).all()


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_upsampling_equals_the_scipy_bilinear_zoom(factor: int) -> None:
    from nanolive.engines.postprocess import upsample_logits
    from scipy import ndimage as ndi

    logits = np.random.default_rng(factor).normal(0, 3, (2, 7, 5)).astype(np.float32)
    reference = ndi.zoom(logits, (1, factor, factor), order=1, mode="nearest", grid_mode=True)
    up = upsample_logits(logits, factor, reference.shape[1:])
    np.testing.assert_allclose(up, reference, atol=1e-5)


def test_combined_scales_fill_large_particles_and_drop_specks() -> None:
    from nanolive.engines.postprocess import combine_scales

    native = np.full((2, 20, 20), -5.0, np.float32)
    coarse = np.full((2, 20, 20), -5.0, np.float32)
    coarse[0, 2:12, 2:12] = 6.0  # a large particle the coarse pass is sure of ...
    coarse[0, 2, 2:12] = 0.5  # ... with an uncertain rim
    native[0, 3:12, 2:12] = 4.0  # the native pass has the particle, with a hole of "texture"
    native[0, 6:8, 6:8] = -3.0
    native[0, 15:17, 15:17] = 4.0  # and a texture speck the coarse pass does not see
    coarse[1, 5:9, 5:9] = 3.0
    fg, core = combine_scales(native, coarse)
    assert (fg[6:8, 6:8] > 0).all()  # hole filled
    assert (fg[2, 2:12] < 0).all()  # rim: native boundary kept
    assert (fg[15:17, 15:17] < 0).all()  # speck dropped
    assert np.array_equal(core, coarse[1])


def test_sure_fraction_counts_confident_foreground() -> None:
    logit = np.full((10, 10), -5.0, np.float32)
    assert sure_fraction(logit) == 0.0  # no foreground at all
    logit[:2] = 4.0  # 20 sure pixels
    logit[2:4] = 1.0  # 20 unsure foreground pixels
    assert sure_fraction(logit) == pytest.approx(0.5)
    assert not native_is_unsure(logit)
    logit[4:8] = 0.5
    assert native_is_unsure(logit)  # 20 of 80 foreground pixels sure


def speckled_native(shape: tuple[int, int] = (256, 256), fraction: float = 0.05) -> np.ndarray:
    """Return native foreground logits of noise specks: a fraction of pixels at logit 1."""
    rng = np.random.default_rng(0)
    return np.where(rng.random(shape) < fraction, 1.0, -4.0).astype(np.float32)


def confident_blob(shape: tuple[int, int], radius: float) -> np.ndarray:
    """Return foreground logits of one disc, logit 6 inside and -6 outside."""
    yy, xx = np.indices(shape)
    inside = (yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2 < radius**2
    return np.where(inside, 6.0, -6.0).astype(np.float32)


def test_rescue_picks_the_confident_coarse_pass_of_a_speckled_frame() -> None:
    native = speckled_native()
    coarse = {2: speckled_native((128, 128)), 4: confident_blob((64, 64), 10.0)}
    assert rescue_factor(native, coarse) == 4
    # a coarse pass only a little surer than the native one is not enough
    weak = {4: np.where(confident_blob((64, 64), 10.0) > 0, 1.0, -6.0).astype(np.float32)}
    assert rescue_factor(native, weak) == 1


def test_rescue_ignores_a_whole_frame_blob_when_native_saw_nothing() -> None:
    """An empty frame: the native pass sees nothing; a coarse pass calling most of the frame one
    sure particle (a support or vacuum region) must not replace it, a compact one may."""
    native = np.full((256, 256), -6.0, np.float32)
    assert rescue_factor(native, {8: confident_blob((32, 32), 14.0)}) == 1
    assert rescue_factor(native, {4: confident_blob((64, 64), 8.0)}) == 4


def test_rescue_factors_keep_the_shrunk_frame_large_enough() -> None:
    assert rescue_factors((512, 512)) == (2, 4, 8)
    assert rescue_factors((200, 300)) == (2, 4)
    assert rescue_factors((40, 40)) == ()


def test_relative_specks_are_dropped_beside_large_particles_only() -> None:
    from nanolive.engines.postprocess import drop_relative_specks

    big = discs((256, 256), [(60, 60), (60, 180), (180, 120)], 25)  # 50 px across
    specks = discs((256, 256), [(20, 240), (240, 20), (240, 240)], 3)  # 6 px: < 0.2 * 50
    mid = discs((256, 256), [(200, 200)], 8)  # 16 px: kept
    frame = np.where(big > 0, big, np.where(specks > 0, specks + 10, np.where(mid > 0, 20, 0)))
    out = drop_relative_specks(frame, 0.2)
    assert out.max() == 4  # three large + the mid-sized one, renumbered 1..4
    assert np.array_equal(out > 0, (big > 0) | (mid > 0))
    assert np.array_equal(drop_relative_specks(frame, 0.0), frame)  # 0 = off
    # Particles of one size range (the simulator's 4-20 px): the same discs without the big ones
    # keep every instance, so small particles on frames of small particles are never dropped.
    small_only = np.where(specks > 0, specks, np.where(mid > 0, 20, 0))
    assert drop_relative_specks(small_only, 0.2).max() == 4
    assert drop_relative_specks(np.zeros((8, 8), np.int32), 0.2).max() == 0


def test_min_relative_diameter_is_validated() -> None:
    from nanolive.engines.base import EngineConfig

    with pytest.raises(ValueError, match="min_relative_diameter"):
        EngineConfig(min_relative_diameter=1.0)
    with pytest.raises(ValueError, match="min_relative_diameter"):
        EngineConfig(min_relative_diameter=-0.1)
