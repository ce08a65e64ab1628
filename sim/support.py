"""The amorphous support (e.g. carbon): a periodic relative-thickness texture with a realistic spectrum.

The texture is synthesised once per frame series by filtering white noise in Fourier space: a fine
component (exponential correlation of length ``support_correlation_nm``; power ~ k^-3) and a smooth
slow undulation (length ``support_undulation_nm``; Matern-like, power ~ k^-6 beyond 1/length, so it
adds almost nothing at the particles' scale, as in real HAADF images whose spectra fall as k^-2.3 to
k^-4.1, docs/realism.md), then blurred by the probe. It is periodic, so drifting the scene is a
cyclic shift; sub-pixel shifts and line jitter use the stored spectral gradients (first order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft

from .config import SimConfig
from .scan import ScanGeometry


@dataclass(frozen=True)
class SupportTexture:
    """Relative support thickness t (mean about 1, >= 0.05 on the support, 0 in vacuum) and its
    gradients per px, all (H, W) float32; ``present`` (H, W) bool marks the support (not vacuum)."""

    t: np.ndarray
    dt_dx: np.ndarray
    dt_dy: np.ndarray
    present: np.ndarray

    def covers(self, x: np.ndarray, y: np.ndarray, offset_x: float, offset_y: float) -> np.ndarray:
        """Return True for field-of-view points (x, y) (px) that lie on the support when the scene is
        shifted by (offset_x, offset_y) px."""
        rows, cols = self.present.shape
        r = np.floor(np.asarray(y) - offset_y + 0.5).astype(np.int64) % rows
        c = np.floor(np.asarray(x) - offset_x + 0.5).astype(np.int64) % cols
        return self.present[r, c]

    def sample(self, offset_x: float, offset_y: float, scan: ScanGeometry) -> np.ndarray:
        """Return the texture seen by each pixel when the scene is shifted by (offset_x, offset_y) px.

        Integer shifts are exact (cyclic); the sub-pixel remainder, flyback and line jitter use the
        stored gradients (first order). Values are clipped at 0.
        """
        cols = self.t.shape[1]
        shift_y = math.floor(offset_y + 0.5)
        frac_y = offset_y - shift_y
        layers = (self.t, self.dt_dx, self.dt_dy)
        if scan.has_flyback:
            u = scan.col_x - offset_x
            iu = np.floor(u + 0.5).astype(np.intp)
            # dx: scene x of each pixel minus the x of the texture pixel it was taken from
            dx: np.ndarray | np.float32 = (u - iu)[None, :].astype(np.float32)
            t, gx, gy = (np.roll(np.take(a, iu % cols, axis=1), shift_y, axis=0) for a in layers)
        else:
            shift_x = math.floor(offset_x + 0.5)
            dx = np.float32(shift_x - offset_x)
            if dx == 0 and frac_y == 0 and not scan.has_jitter:
                if shift_x == 0 and shift_y == 0:
                    return self.t  # shared, read-only use
                return np.roll(self.t, (shift_y, shift_x), axis=(0, 1))
            t, gx, gy = (np.roll(a, (shift_y, shift_x), axis=(0, 1)) for a in layers)
        if scan.has_jitter:
            dx = dx + scan.row_dx[:, None].astype(np.float32)
        out = t + np.float32(-frac_y) * gy
        out += dx * gx
        np.maximum(out, np.float32(0.0), out=out)
        return out


FINE_EXPONENT = -0.75
"""Amplitude exponent of the fine texture: (1 + (2 pi L k)^2)^-0.75 is an exponential correlation."""
SLOW_EXPONENT = -1.5
"""Amplitude exponent of the slow undulation: a smooth (Matern, nu = 2) field, power ~ k^-6."""


def _spectrum_filter(k2: np.ndarray, length_px: float, exponent: float) -> np.ndarray:
    """Return the float32 amplitude filter (1 + (2 pi L k)^2)^exponent of a 2-D field of
    correlation length L = ``length_px`` (px); k2 is the squared frequency (cycles/px)^2."""
    base = np.float32((2 * math.pi * length_px) ** 2) * k2
    base += np.float32(1.0)
    return base ** np.float32(exponent)


def _unit_field(
    k2: np.ndarray,
    weight: np.ndarray,
    length_px: float,
    exponent: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Return a periodic zero-mean, unit-variance (in expectation) Gaussian field of correlation
    length ``length_px`` and spectral ``exponent`` (see :func:`_spectrum_filter`), float32 (H, W),
    and its rfft spectrum."""
    rows = k2.shape[0]
    cols = 2 * (k2.shape[1] - 1) if weight[0, -1] == 1.0 else 2 * k2.shape[1] - 1
    amplitude = _spectrum_filter(k2, length_px, exponent)
    amplitude[0, 0] = 0.0
    # expected variance: sum of weight x E|noise|^2 (= 2) x |filter|^2 / (H W)^2 (Parseval)
    variance = 2.0 * float(np.sum(weight * amplitude * amplitude)) / (rows * cols) ** 2
    amplitude *= np.float32(1.0 / math.sqrt(variance))
    noise = rng.standard_normal((2, *k2.shape), dtype=np.float32)
    spectrum = np.empty(k2.shape, dtype=np.complex64)
    spectrum.real = amplitude * noise[0]
    spectrum.imag = amplitude * noise[1]
    return sp_fft.irfft2(spectrum, (rows, cols)), spectrum


def support_texture(config: SimConfig, rng: np.random.Generator) -> SupportTexture:
    """Return a periodic support texture of ``config.shape``, pre-blurred by the probe.

    Each component is white complex Gaussian noise shaped in Fourier space and scaled to unit
    variance (Parseval). The thickness is (1 + texture_rms x fine) x exp(undulation_rms x slow -
    undulation_rms^2 / 2) (a lognormal slow variation of mean 1), clipped at 0.05 (thin spots), set
    to 0 where the slow component (smoothed) is below its (1 - support_coverage) quantile (vacuum),
    blurred by the probe in Fourier space, and differentiated by central differences (periodic).
    """
    rows, cols = config.shape
    ky = np.fft.fftfreq(rows).astype(np.float32)[:, None]
    kx = np.fft.rfftfreq(cols).astype(np.float32)[None, :]
    k2 = kx**2 + ky**2
    # weight of each rfft coefficient in Parseval's sum (the half-spectrum counts twice)
    weight = np.full(kx.shape, 2.0, dtype=np.float32)
    weight[:, 0] = 1.0
    if cols % 2 == 0:
        weight[:, -1] = 1.0
    field = np.ones((rows, cols), dtype=np.float32)
    slow = None
    if config.support_texture_rms > 0:
        fine_px = config.support_correlation_nm / config.pixel_size_nm
        fine, _ = _unit_field(k2, weight, fine_px, FINE_EXPONENT, rng)
        field += np.float32(config.support_texture_rms) * fine
    if config.support_undulation_rms > 0:
        length_px = config.support_undulation_nm / config.pixel_size_nm
        g, spectrum = _unit_field(k2, weight, length_px, SLOW_EXPONENT, rng)
        sigma = np.float32(config.support_undulation_rms)
        field *= np.exp(sigma * g - sigma * sigma / 2)  # lognormal thickness, mean 1
        if config.support_coverage < 1:
            # vacuum outline: the slow component smoothed over a quarter of its length
            smooth = np.exp(np.float32(-2 * math.pi**2 * (length_px / 4) ** 2) * k2)
            slow = sp_fft.irfft2(spectrum * smooth, (rows, cols))
    np.maximum(field, np.float32(0.05), out=field)
    present = np.ones((rows, cols), dtype=bool)
    if config.support_coverage < 1 and slow is not None:
        present = slow >= np.quantile(slow, 1 - config.support_coverage)
        field[~present] = 0.0
    sigma_px = config.probe_fwhm_nm / 2.3548 / config.pixel_size_nm
    blur = np.exp(np.float32(-2 * math.pi**2 * sigma_px**2) * k2)
    t = sp_fft.irfft2(sp_fft.rfft2(field) * blur, (rows, cols)).astype(np.float32)
    np.maximum(t, np.float32(0.0), out=t)  # Fourier blur can undershoot by rounding
    gx = (np.roll(t, -1, axis=1) - np.roll(t, 1, axis=1)) * np.float32(0.5)
    gy = (np.roll(t, -1, axis=0) - np.roll(t, 1, axis=0)) * np.float32(0.5)
    return SupportTexture(t=t, dt_dx=gx, dt_dy=gy, present=present)
