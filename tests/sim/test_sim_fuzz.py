"""Fuzz regression: seeded random configs over the whole supported range (every arrangement, both
modes, dose 1..2000 e/px, strong support undulation, small to large radii, sparse to dense) always
simulate, the expected electrons fed to the Poisson draw are never negative, and the truth still
matches the pixels (the kinds of config that used to crash: clustered, chain and ring arrangements,
strong undulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nanolive.sim import SimConfig, SimFrame, simulate_image, simulate_video
from nanolive.sim.config import ARRANGEMENTS, MAX_COVERAGE, MODES
from nanolive.sim.detector import expected_electrons
from nanolive.sim.support import support_texture

SHAPE = (192, 192)
N_CONFIGS = 40


def _fuzz_config(seed: int) -> SimConfig:
    """Return a valid random config on SHAPE; n_particles scales with the area (coverage 1-30 %)."""
    rng = np.random.default_rng(1000 + seed)
    pixel_size_nm = float(math.exp(rng.uniform(math.log(0.12), math.log(0.6))))
    radius_px = float(math.exp(rng.uniform(math.log(1.5), math.log(18.0))))
    radius_sigma = float(rng.uniform(0.0, 0.45))
    support_coverage = float(rng.uniform(0.7, 1.0)) if rng.random() < 0.25 else 1.0
    coverage = float(rng.uniform(0.01, 0.3))
    n = coverage * SHAPE[0] * SHAPE[1] / (math.pi * radius_px**2)
    # stay below the density limit whatever the size spread and support coverage
    limit = 0.95 * MAX_COVERAGE * support_coverage / math.exp(2 * radius_sigma**2)
    n = min(n, limit * SHAPE[0] * SHAPE[1] / (math.pi * radius_px**2))
    return SimConfig(
        shape=SHAPE,
        pixel_size_nm=pixel_size_nm,
        mode=MODES[seed % len(MODES)],
        dose_e_per_px=float(math.exp(rng.uniform(0.0, math.log(2000.0)))),
        n_particles=float(n),
        radius_median_nm=radius_px * pixel_size_nm,
        radius_sigma=radius_sigma,
        radius_min_nm=min(0.3, 0.5 * radius_px * pixel_size_nm),
        arrangement=ARRANGEMENTS[seed % len(ARRANGEMENTS)],
        cluster_size_mean=float(rng.uniform(2.0, 15.0)),
        cluster_radius_nm=float(rng.uniform(1.0, 12.0)),
        overlap_max=float(rng.uniform(0.0, 0.6)),
        z_contrast_spread=float(rng.uniform(0.0, 0.5)),
        particle_signal_per_nm=float(rng.uniform(0.02, 0.1)),
        support_signal_fraction=float(rng.uniform(0.03, 0.4)),
        support_texture_rms=float(rng.uniform(0.0, 0.3)),
        support_undulation_rms=float(rng.uniform(0.0, 0.6)),
        support_undulation_nm=float(rng.uniform(3.0, 40.0)),
        support_coverage=support_coverage if rng.random() < 0.9 else 1.0,
        bf_phase_contrast=float(rng.uniform(0.0, 1.0)),
        contaminant_rate=float(rng.uniform(0.0, 1.0)),
        probe_fwhm_nm=float(rng.uniform(0.5, 2.0)) * pixel_size_nm,
        line_jitter_px=float(rng.uniform(0.0, 1.5)) if rng.random() < 0.3 else 0.0,
        flyback_amplitude_px=float(rng.uniform(0.0, 4.0)) if rng.random() < 0.2 else 0.0,
    )


def _check_truth(frame: SimFrame, config: SimConfig) -> None:
    ids, counts = np.unique(frame.labels[frame.labels > 0], return_counts=True)
    table = frame.particles
    np.testing.assert_array_equal(table["track_id"], ids)  # every label value is in the table
    np.testing.assert_array_equal(table["area_px"], counts)
    assert np.isfinite(frame.image).all()
    # clean = gain x expected electrons + offset: the Poisson mean was never negative
    assert float(frame.clean.min()) >= config.offset_counts


@pytest.mark.parametrize("seed", range(N_CONFIGS))
def test_random_config_simulates_with_exact_truth(seed: int) -> None:
    config = _fuzz_config(seed)
    frame = simulate_image(config, seed)
    assert frame.image.shape == SHAPE
    _check_truth(frame, config)


@pytest.mark.parametrize("arrangement", ARRANGEMENTS)
def test_random_config_video_keeps_exact_truth(arrangement: str) -> None:
    seed = ARRANGEMENTS.index(arrangement)  # _fuzz_config(seed) has this arrangement
    config = _fuzz_config(seed)
    assert config.arrangement == arrangement
    for frame in simulate_video(config, 3, seed):
        _check_truth(frame, config)


@pytest.mark.parametrize("mode", MODES)
def test_expected_electrons_never_negative_with_strong_undulation(mode: str) -> None:
    config = SimConfig(
        shape=(96, 96),
        mode=mode,
        dose_e_per_px=1.0,
        support_undulation_rms=0.6,
        support_undulation_nm=3.0,
        support_texture_rms=0.4,
        bf_phase_contrast=1.0,
        support_signal_fraction=0.5,
        n_particles=5.0,
    )
    support = support_texture(config, np.random.default_rng(0)).t
    assert float(support.max()) > 2.0  # thick spots: (1 - phase x (t - 1)) would go negative
    particles = np.zeros(config.shape, np.float32)
    particles[40:60, 40:60] = 50.0
    electrons = expected_electrons(config, support, particles, None)
    assert float(electrons.min()) >= 0.0
    assert float(electrons.max()) <= config.dose_e_per_px  # a fraction of the dose, in [0, 1]


def test_deep_stacks_of_hidden_particles_are_fully_merged(caplog: pytest.LogCaptureFixture) -> None:
    # clusters of ~60 nearly concentric particles: every hidden one is merged into its occluder
    config = SimConfig(
        shape=(96, 96),
        n_particles=60.0,
        arrangement="clustered",
        cluster_size_mean=60.0,
        cluster_radius_nm=0.01,
    )
    with caplog.at_level("WARNING", logger="nanolive.sim.simulate"):
        frame = simulate_image(config, 3)
    assert not [r for r in caplog.records if "fully hidden" in r.getMessage()]
    _check_truth(frame, config)
