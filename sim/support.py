"""The amorphous support (e.g. carbon): a periodic relative-thickness texture with a realistic spectrum.

The texture is synthesised once per frame series by filtering white noise in Fourier space: a fine
component (exponential correlation of length ``support_correlation_nm``) and a slow undulation (length
``support_undulation_nm``), then blurred by the probe. It is periodic, so drifting the scene is a
cyclic shift; sub-pixel shifts and line jitter use the stored spectral gradients (first order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import SimConfig
from .scan import ScanGeometry


@dataclass(frozen=True)
class SupportTexture:
    """Relative support thickness t (mean 1, >= 0.05) and its gradients per px, all (H, W) float32."""

    t: np.ndarray
    dt_dx: np.ndarray
    dt_dy: np.ndarray

    def sample(self, offset_x: float, offset_y: float, scan: ScanGeometry) -> np.ndarray:
        """Return the texture seen by each pixel when the scene is shifted by (offset_x, offset_y) px."""
        rows, cols = self.t.shape
        shift_y = math.floor(offset_y + 0.5)
        frac_y = offset_y - shift_y
        if scan.has_flyback:
            u = scan.col_x - offset_x
            iu = np.floor(u + 0.5).astype(np.intp)
            dx = (u - iu)[None, :].astype(np.float32)
            stack = [np.take(a, iu % cols, axis=1) for a in (self.t, self.dt_dx, self.dt_dy)]
            stack = [np.roll(a, shift_y, axis=0) for a in stack]
        else:
            shift_x = math.floor(offset_x + 0.5)
            dx = np.float32(shift_x - offset_x)
            stack = [
                np.roll(a, (shift_y, shift_x), axis=(0, 1))
                for a in (self.t, self.dt_dx, self.dt_dy)
            ]
        t, gx, gy = stack
        # dx: scene x of each pixel minus the x of the texture pixel it was taken from.
        if scan.has_jitter:
            dx = dx + scan.row_dx[:, None].astype(np.float32)
        out = t + np.float32(-frac_y) * gy
        out += (np.asarray(dx, dtype=np.float32)) * gx
        return out


def _spectrum_filter(k2: np.ndarray, length_px: float) -> np.ndarray:
    """Return the amplitude filter of an exponentially correlated 2-D field (length in px)."""
    return (1 + (2 * math.pi) ** 2 * k2 * length_px**2) ** -0.75


def support_texture(config: SimConfig, rng: np.random.Generator) -> SupportTexture:
    """Return a periodic support texture of ``config.shape``, pre-blurred by the probe."""
    rows, cols = config.shape
    ky = np.fft.fftfreq(rows)[:, None]
    kx = np.fft.rfftfreq(cols)[None, :]
    k2 = kx**2 + ky**2
    field = np.ones((rows, cols))
    for rms, length_nm in (
        (config.support_texture_rms, config.support_correlation_nm),
        (config.support_undulation_rms, config.support_undulation_nm),
    ):
        noise = np.fft.rfft2(rng.standard_normal((rows, cols)))
        part = np.fft.irfft2(
            noise * _spectrum_filter(k2, length_nm / config.pixel_size_nm), (rows, cols)
        )
        std = part.std()
        if std > 0 and rms > 0:
            field += rms * part / std
    field = np.maximum(field, 0.05)
    sigma_px = config.probe_fwhm_nm / 2.3548 / config.pixel_size_nm
    spec = np.fft.rfft2(field) * np.exp(-2 * math.pi**2 * sigma_px**2 * k2)
    t = np.fft.irfft2(spec, (rows, cols))
    gx = np.fft.irfft2(spec * (2j * math.pi * kx), (rows, cols))
    gy = np.fft.irfft2(spec * (2j * math.pi * ky), (rows, cols))
    return SupportTexture(
        t=t.astype(np.float32), dt_dx=gx.astype(np.float32), dt_dy=gy.astype(np.float32)
    )
