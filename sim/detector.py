"""Image formation: scattering fractions -> expected electrons -> detector counts with counting noise.

HAADF: fraction on the detector f = support_signal_fraction * support + particle_signal_per_nm *
(Z x thickness, probe-blurred) + contaminants, clipped to [0, 1]. BF: transmitted fraction
exp(-bf_contrast_scale * f_haadf) (dark particles on a bright support). Expected electrons per pixel
= dose x fraction; counts = gain x N_e + offset + read noise, N_e ~ Poisson (exact below
``poisson_exact_below`` electrons, Gaussian with the Poisson variance above).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .config import SimConfig

FWHM_PER_SIGMA = 2.3548


def probe_blur(image: np.ndarray, config: SimConfig) -> np.ndarray:
    """Return ``image`` convolved with the Gaussian probe (float32)."""
    sigma_px = config.probe_fwhm_nm / FWHM_PER_SIGMA / config.pixel_size_nm
    return ndimage.gaussian_filter(image, sigma_px, truncate=3.0)


def expected_electrons(
    config: SimConfig, support: np.ndarray, particles_nm: np.ndarray, contaminants: np.ndarray
) -> np.ndarray:
    """Return expected detected electrons per pixel (float32) from the support texture (relative,
    already probe-blurred), the Z-weighted particle thickness (nm) and the contaminant fraction."""
    layer = np.float32(config.particle_signal_per_nm) * particles_nm
    layer += contaminants
    layer = probe_blur(layer, config)
    layer += np.float32(config.support_signal_fraction) * support
    if config.mode == "bf":
        np.exp(np.float32(-config.bf_contrast_scale) * layer, out=layer)
    else:
        np.clip(layer, 0.0, 1.0, out=layer)
    layer *= np.float32(config.dose_e_per_px)
    return layer


def detector_counts(
    electrons: np.ndarray, config: SimConfig, rng: np.random.Generator
) -> np.ndarray:
    """Return float32 detector counts: gain x Poisson(electrons) + offset + read noise."""
    gain = np.float32(config.gain_counts_per_e)
    read = np.float32(config.read_noise_counts)
    low = electrons < config.poisson_exact_below
    n_low = int(np.count_nonzero(low))
    if n_low == electrons.size and read == 0:
        counts = rng.poisson(electrons).astype(np.float32) * gain
        counts += np.float32(config.offset_counts)
        return counts
    z = rng.standard_normal(electrons.shape, dtype=np.float32)
    counts = np.sqrt(gain * gain * electrons + read * read) * z
    counts += gain * electrons
    if n_low:
        lam = electrons[low]
        counts[low] = gain * rng.poisson(lam).astype(np.float32) + read * z[low]
    counts += np.float32(config.offset_counts)
    return counts
