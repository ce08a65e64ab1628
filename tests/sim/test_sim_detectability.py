"""Ideal per-particle SNR of simulated frames (nanolive.sim.detectability)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from nanolive.sim import SimConfig, simulate_image
from nanolive.sim.detectability import ROSE_SNR, frame_snr, particle_snr, visible_fraction


def disc(shape: tuple[int, int], cy: int, cx: int, r: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def one_particle(background: float, excess: float) -> tuple[np.ndarray, np.ndarray]:
    labels = disc((64, 64), 32, 32, 5).astype(np.int32) * 7
    clean = np.full((64, 64), background) + excess * (labels > 0)
    return clean, labels


def test_snr_of_a_flat_disc_is_the_poisson_sum() -> None:
    clean, labels = one_particle(20.0, 5.0)
    ids, snr = particle_snr(clean, labels)
    n = np.count_nonzero(labels)
    # every disc pixel: delta 5 counts, variance 25 counts^2; the margin adds delta 0
    np.testing.assert_array_equal(ids, [7])
    assert snr[0] == pytest.approx(np.sqrt(n * 25 / 25))


def test_snr_grows_as_the_root_of_the_dose_and_falls_with_read_noise() -> None:
    clean, labels = one_particle(20.0, 5.0)
    _, low = particle_snr(clean, labels)
    _, high = particle_snr(4 * clean, labels)
    assert high[0] == pytest.approx(2 * low[0])
    _, noisy = particle_snr(clean, labels, read_noise_counts=5.0)
    assert noisy[0] == pytest.approx(low[0] / np.sqrt(2))
    # a gain of 2 counts per electron: twice the counts, twice the variance per electron
    _, gained = particle_snr(2 * clean + 100.0, labels, gain_counts_per_e=2.0, offset_counts=100.0)
    assert gained[0] == pytest.approx(low[0])


def test_dark_particles_count_like_bright_ones() -> None:
    bright, labels = one_particle(50.0, 10.0)
    dark, _ = one_particle(50.0, -10.0)
    _, s_bright = particle_snr(bright, labels)
    _, s_dark = particle_snr(dark, labels)
    # same |delta|, variance 60 vs 40 per pixel
    assert s_dark[0] == pytest.approx(s_bright[0] * np.sqrt(60 / 40))


def test_background_is_measured_away_from_every_particle() -> None:
    clean, labels = one_particle(20.0, 5.0)
    # a bright neighbour 14 px away must not raise the background estimate
    neighbour = disc((64, 64), 32, 46, 4)
    labels[neighbour] = 9
    clean[neighbour] = 200.0
    _, snr = particle_snr(clean, labels)
    n = np.count_nonzero(labels == 7)
    assert snr[0] == pytest.approx(np.sqrt(n))


def test_particle_without_free_background_is_nan_and_not_counted() -> None:
    labels = np.ones((40, 40), np.int32)
    labels[15:25, 15:25] = 2
    clean = np.full((40, 40), 10.0)
    ids, snr = particle_snr(clean, labels)
    assert list(ids) == [1, 2] and np.isnan(snr).all()
    # unmeasurable counts as visible: the shares stay upper bounds
    assert visible_fraction(snr) == 1.0
    assert visible_fraction(np.array([np.nan, 2.0, 6.0, 5.0])) == pytest.approx(3 / 4)
    assert np.isnan(visible_fraction(np.array([])))


def test_empty_and_mismatched_inputs() -> None:
    ids, snr = particle_snr(np.zeros((8, 8)), np.zeros((8, 8), np.int32))
    assert ids.size == 0 and snr.size == 0
    with pytest.raises(ValueError, match="equal 2-D shapes"):
        particle_snr(np.zeros((8, 8)), np.zeros((8, 9), np.int32))


def test_simulated_frame_small_particles_fade_first_as_the_dose_falls() -> None:
    config = SimConfig(shape=(256, 256), n_particles=40)
    fractions, snrs = [], []
    for dose in (10.0, 100.0, 1000.0):
        frame = simulate_image(replace(config, dose_e_per_px=dose), seed=3)
        ids, snr = frame_snr(frame, config)
        fractions.append(visible_fraction(snr))
        snrs.append(snr)
    # the same scene at every dose: SNR ~ sqrt(dose) (read noise 0.5 counts hardly matters)
    ratio = np.nanmedian(snrs[2] / snrs[1])
    assert ratio == pytest.approx(np.sqrt(10), rel=0.1)
    assert fractions[0] < fractions[1] <= fractions[2]
    assert fractions[0] < 0.9 and fractions[2] > 0.95
    # on one frame, larger particles are more visible
    area = np.bincount(frame.labels.ravel())[ids]
    finite = np.isfinite(snrs[1])
    order = np.argsort(area[finite])
    small, large = snrs[1][finite][order[:5]], snrs[1][finite][order[-5:]]
    assert np.median(small) < np.median(large)
    assert ROSE_SNR == 5.0
