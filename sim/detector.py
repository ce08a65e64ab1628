"""Image formation: scattering fractions -> expected electrons -> detector counts with counting noise.

HAADF: fraction on the detector f = support_signal_fraction * support + particle_signal_per_nm *
(Z x thickness, probe-blurred) + contaminants, clipped to [0, 1]. BF: transmitted fraction
exp(-bf_contrast_scale * f_haadf) x (1 - bf_phase_contrast x (support - 1)) (dark particles on a
bright, phase-contrast textured support), clipped to [0, 1] (vacuum and thin spots transmit at most
the whole dose; strongly undulating thick spots at least nothing). So the expected electrons per
pixel are always in [0, dose] and never a negative Poisson mean. Expected electrons per pixel
= dose x fraction; counts = gain x N_e + offset + read noise, N_e ~ Poisson (exact below
``poisson_exact_below`` electrons, Gaussian with the Poisson variance above).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import ndtri

from .config import SimConfig

FWHM_PER_SIGMA = 2.3548
#: Number of equiprobable quantiles of the standard normal used for fast Gaussian deviates.
NORMAL_QUANTILES = 65536


@lru_cache(maxsize=1)
def normal_quantiles() -> np.ndarray:
    """Return the mid-point quantiles of N(0, 1) at (i + 0.5) / 65536, scaled to unit variance."""
    q = ndtri((np.arange(NORMAL_QUANTILES) + 0.5) / NORMAL_QUANTILES)
    return (q / np.sqrt(np.mean(q * q))).astype(np.float32)


def fast_standard_normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Return float32 standard-normal deviates by inverse-CDF lookup of 16-bit uniform integers.

    Exact quantiles of N(0, 1) on a 1/65536 probability grid (so |z| <= 4.3); about 3x faster than
    ``rng.standard_normal`` and statistically indistinguishable for counting noise.
    """
    n = math.prod(shape)
    index = np.frombuffer(rng.bytes(2 * n), dtype=np.uint16)
    return np.take(normal_quantiles(), index).reshape(shape)


def gaussian_kernel(sigma_px: float) -> np.ndarray:
    """Return the normalised 1-D Gaussian kernel (float32) of half-width ceil(3 sigma) px."""
    radius = max(1, math.ceil(3 * sigma_px))
    x = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (x / sigma_px) ** 2)
    return (k / k.sum()).astype(np.float32)


def _blur_axis(image: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Return ``image`` convolved along ``axis`` with a symmetric kernel (zero outside the frame)."""
    radius = kernel.size // 2
    out = image * kernel[radius]
    src = np.moveaxis(image, axis, -1)
    dst = np.moveaxis(out, axis, -1)
    n = src.shape[-1]
    for j in range(1, min(radius, n - 1) + 1):
        k = kernel[radius + j]
        if 2 * j > n:  # short axis: no pixel has both neighbours
            dst[..., : n - j] += k * src[..., j:]
            dst[..., j:] += k * src[..., : n - j]
            continue
        # interior: both neighbours at distance j exist
        pair = src[..., : n - 2 * j] + src[..., 2 * j :]
        pair *= k
        dst[..., j : n - j] += pair
        # the j pixels at each end have one neighbour inside the frame
        dst[..., :j] += k * src[..., j : 2 * j]
        dst[..., n - j :] += k * src[..., n - 2 * j : n - j]
    return out


def probe_blur(image: np.ndarray, config: SimConfig, scale: float = 1.0) -> np.ndarray:
    """Return float32 ``scale`` x ``image`` convolved with the Gaussian probe (zero outside the
    frame)."""
    kernel = gaussian_kernel(config.probe_fwhm_nm / FWHM_PER_SIGMA / config.pixel_size_nm)
    return _blur_axis(_blur_axis(image, kernel * np.float32(scale), 0), kernel, 1)


def expected_electrons(
    config: SimConfig,
    support: np.ndarray,
    particles_nm: np.ndarray,
    contaminants: np.ndarray | None,
) -> np.ndarray:
    """Return expected detected electrons per pixel (float32) from the support texture (relative,
    already probe-blurred, >= 0), the Z-weighted particle thickness (nm, >= 0) and the contaminant
    fraction (smooth, not blurred again)."""
    f32 = np.float32
    dose = config.dose_e_per_px
    if config.mode == "bf":
        layer = probe_blur(particles_nm, config, config.particle_signal_per_nm)
        layer += f32(config.support_signal_fraction) * support
        if contaminants is not None:
            layer += contaminants
        layer *= f32(-config.bf_contrast_scale)
        np.exp(layer, out=layer)
        if config.bf_phase_contrast:
            phase = f32(-config.bf_phase_contrast) * support
            phase += f32(1.0 + config.bf_phase_contrast)
            layer *= phase
        # a transmitted fraction: in [0, 1] (the phase term can push thin spots and vacuum above 1
        # and, with strong undulation, thick spots below 0); never a negative Poisson mean
        np.clip(layer, f32(0.0), f32(1.0), out=layer)
        layer *= f32(dose)
        return layer
    # HAADF: a scattered fraction, clipped to [0, 1] (every term is >= 0 for valid inputs; the lower
    # bound guards the Poisson draw against rounding or a caller's negative support map)
    layer = probe_blur(particles_nm, config, dose * config.particle_signal_per_nm)
    layer += f32(dose * config.support_signal_fraction) * support
    if contaminants is not None:
        layer += f32(dose) * contaminants
    np.clip(layer, f32(0.0), f32(dose), out=layer)
    return layer


def detector_counts(
    electrons: np.ndarray, config: SimConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return float32 (counts, clean): counts = gain x Poisson(electrons) + offset + read noise, and
    clean = gain x electrons + offset (the expectation).

    Pixels expecting fewer than ``poisson_exact_below`` electrons get exact Poisson draws; the others
    a Gaussian with the Poisson variance, with the read noise folded into the same draw (Gaussian
    deviates from :func:`fast_standard_normal`).
    """
    f32 = np.float32
    gain = f32(config.gain_counts_per_e)
    read = f32(config.read_noise_counts)
    offset = f32(config.offset_counts)
    signal = electrons * gain if gain != 1 else electrons.copy()
    if electrons.min(initial=np.inf) >= config.poisson_exact_below:
        low = np.zeros(0, dtype=np.intp)
    else:
        low = np.flatnonzero(electrons.ravel() < config.poisson_exact_below)
    if low.size == electrons.size and read == 0:
        counts = rng.poisson(electrons).astype(np.float32)
        if gain != 1:
            counts *= gain
    else:
        z = fast_standard_normal(electrons.shape, rng)
        counts = signal * gain if gain != 1 else electrons.copy()
        if read:
            counts += read * read
        np.sqrt(counts, out=counts)
        counts *= z
        counts += signal
        if low.size:
            flat = counts.reshape(-1)
            lam = electrons.ravel()[low]
            flat[low] = gain * rng.poisson(lam).astype(np.float32) + read * z.ravel()[low]
    if offset:
        counts += offset
        signal += offset
    return counts, signal
