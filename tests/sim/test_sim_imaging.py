"""Image formation: counting noise statistics, support drift sampling, contaminants, drift, realism
metrics."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from nanolive.sim import SimConfig, simulate_image, simulate_video
from nanolive.sim.detector import detector_counts, fast_standard_normal, probe_blur
from nanolive.sim.realism import Boxes, block_average, image_stats, label_boxes, spectrum_stats
from nanolive.sim.scan import ScanGeometry
from nanolive.sim.support import support_texture

SMALL = SimConfig(shape=(96, 128), n_particles=10.0)


def test_fast_normal_has_standard_moments() -> None:
    z = fast_standard_normal((400, 500), np.random.default_rng(0)).astype(np.float64)
    assert abs(z.mean()) < 0.01
    assert z.std() == pytest.approx(1.0, abs=0.01)
    assert np.mean(z**4) == pytest.approx(3.0, abs=0.08)


@pytest.mark.parametrize("lam", [0.5, 5.0, 200.0])
def test_counts_have_poisson_mean_and_variance(lam: float) -> None:
    config = replace(SMALL, gain_counts_per_e=2.0, offset_counts=10.0, read_noise_counts=1.5)
    electrons = np.full((300, 300), lam, dtype=np.float32)
    counts, clean_counts = detector_counts(electrons, config, np.random.default_rng(1))
    np.testing.assert_allclose(clean_counts, 2.0 * lam + 10.0, rtol=1e-6)
    counts = counts.astype(np.float64)
    assert counts.mean() == pytest.approx(2.0 * lam + 10.0, rel=0.01, abs=0.02)
    assert counts.var() == pytest.approx(4.0 * lam + 1.5**2, rel=0.03)
    if lam < config.poisson_exact_below:
        # exact Poisson: (counts - offset - read noise) / gain is integer-valued in distribution;
        # without read noise the values sit exactly on the gain grid
        clean = replace(config, read_noise_counts=0.0)
        c, _ = detector_counts(electrons, clean, np.random.default_rng(2))
        np.testing.assert_allclose((c - 10.0) / 2.0, np.round((c - 10.0) / 2.0), atol=1e-4)


def test_probe_blur_conserves_signal_and_spreads_a_point() -> None:
    image = np.zeros((41, 41), dtype=np.float32)
    image[20, 20] = 1.0
    out = probe_blur(image, replace(SMALL, probe_fwhm_nm=1.0, pixel_size_nm=0.25))
    assert out.sum() == pytest.approx(1.0, rel=1e-5)
    sigma = 1.0 / 2.3548 / 0.25
    rows = np.arange(41) - 20
    var = (out.sum(axis=1) * rows**2).sum()
    assert var == pytest.approx(sigma**2, rel=0.02)


def test_support_sampling_follows_the_drift() -> None:
    config = replace(SMALL, shape=(64, 64))
    texture = support_texture(config, np.random.default_rng(3))
    scan = ScanGeometry(col_x=np.arange(64, dtype=float), row_dx=np.zeros(64))
    np.testing.assert_allclose(
        texture.sample(5.0, -3.0, scan), np.roll(texture.t, (-3, 5), axis=(0, 1)), atol=1e-6
    )
    # a sub-pixel shift agrees with the exact (Fourier) shift to first order
    exact = np.fft.ifft2(
        np.fft.fft2(texture.t) * np.exp(-2j * math.pi * np.fft.fftfreq(64)[None, :] * 0.3)
    ).real
    approx = texture.sample(0.3, 0.0, scan)
    assert (
        np.abs(approx - exact).max() < 0.1 * np.abs(texture.sample(1.0, 0, scan) - texture.t).max()
    )


def test_contaminants_change_the_image_not_the_labels() -> None:
    clean = simulate_image(replace(SMALL, contaminant_rate=0.0), seed=4)
    dirty = simulate_image(replace(SMALL, contaminant_rate=5.0), seed=4)
    np.testing.assert_array_equal(clean.labels, dirty.labels)
    assert (dirty.clean - clean.clean).max() > 0.01 * clean.clean.mean()


def test_drift_moves_particles_and_support_together() -> None:
    config = replace(
        SMALL, drift_nm_per_s=(2.5, -1.25), diffusion_nm2_per_s=0.0, merge_probability=0.0
    )
    a, b = list(simulate_video(config, 2, seed=5))
    shift = (2.5 * 0.1 / 0.25, -1.25 * 0.1 / 0.25)
    common = np.intersect1d(a.particles["track_id"], b.particles["track_id"])
    assert common.size > 3
    ia = np.searchsorted(a.particles["track_id"], common)
    ib = np.searchsorted(b.particles["track_id"], common)
    np.testing.assert_allclose(
        b.particles["x_true_px"][ib] - a.particles["x_true_px"][ia], shift[0]
    )
    np.testing.assert_allclose(
        b.particles["y_true_px"][ib] - a.particles["y_true_px"][ia], shift[1]
    )


def test_realism_statistics_of_known_images() -> None:
    rng = np.random.default_rng(6)
    noise = rng.standard_normal((256, 256))
    hf, _ = spectrum_stats(noise)
    # white noise: the band's share of the disc |k| <= 0.5 cycles/px
    assert hf == pytest.approx((0.5**2 - 0.35**2) / 0.5**2, rel=0.05)
    image = 0.1 * rng.standard_normal((200, 200))
    yy, xx = np.mgrid[:200, :200]
    centres = [(50, 50), (120, 80), (150, 160)]
    for cy, cx in centres:
        image[np.hypot(yy - cy, xx - cx) <= 6] += 1.0
    boxes = Boxes(
        np.array([c[1] for c in centres], float),
        np.array([c[0] for c in centres], float),
        np.full(3, 13.0),
        np.full(3, 13.0),
    )
    stats = image_stats("discs", image, boxes)
    assert stats.cnr == pytest.approx(10.0, rel=0.2)
    assert stats.box_size_fraction == pytest.approx(13 / 200)
    assert block_average(image, 4).shape == (50, 50)


def test_label_boxes_match_the_table() -> None:
    frame = simulate_image(SMALL, seed=7)
    boxes = label_boxes(frame.labels)
    assert boxes.cx.size == len(frame.particles["track_id"])


def test_vacuum_covers_the_requested_fraction_and_holds_no_particles() -> None:
    config = replace(
        SimConfig(shape=(128, 128), n_particles=20.0),
        support_coverage=0.5,
        particle_signal_per_nm=0.0,
        contaminant_rate=0.0,
        read_noise_counts=0.0,
    )
    frame = simulate_image(config, seed=8)
    vacuum = frame.clean < 0.01 * np.median(frame.clean)
    assert vacuum.mean() == pytest.approx(0.5, abs=0.12)
    t = frame.particles
    inside = (t["x_true_px"] >= 0) & (t["x_true_px"] < 127) & (t["y_true_px"] >= 0)
    inside &= t["y_true_px"] < 127
    r = np.round(t["y_true_px"][inside]).astype(int)
    c = np.round(t["x_true_px"][inside]).astype(int)
    assert r.size >= 5
    assert not vacuum[r, c].any()


@pytest.mark.parametrize(("shape", "sigma"), [((64, 70), 0.76), ((40, 33), 3.0), ((9, 12), 4.0)])
def test_separable_blur_matches_scipy(shape: tuple[int, int], sigma: float) -> None:
    from nanolive.sim.detector import _blur_axis, gaussian_kernel
    from scipy import ndimage

    image = np.random.default_rng(0).random(shape).astype(np.float32)
    kernel = gaussian_kernel(sigma)
    expect = ndimage.correlate1d(image, kernel, axis=0, mode="constant")
    expect = ndimage.correlate1d(expect, kernel, axis=1, mode="constant")
    got = _blur_axis(_blur_axis(image, kernel, 0), kernel, 1)
    np.testing.assert_allclose(got, expect, atol=1e-6)
