"""Occasional large bright contaminants (e.g. hydrocarbon or support debris): unlabelled smooth blobs.

Each contaminant is a few overlapping Gaussian lumps; its peak scattering fraction is
``contaminant_signal_fraction``. Contaminants are not particles: they never appear in the labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .config import SimConfig
from .population import Domain

LUMPS_PER_CONTAMINANT = 4


@dataclass(frozen=True)
class Contaminants:
    """Gaussian lumps: centres x, y (px), widths sigma_px (px), peak scattering fractions amplitude."""

    x: np.ndarray
    y: np.ndarray
    sigma_px: np.ndarray
    amplitude: np.ndarray

    def shifted(self, dx: float, dy: float) -> Contaminants:
        """Return the lumps moved by (dx, dy) px (drift)."""
        return replace(self, x=self.x + dx, y=self.y + dy)


def draw_contaminants(config: SimConfig, domain: Domain, rng: np.random.Generator) -> Contaminants:
    """Return a Poisson number (mean ``contaminant_rate`` per field of view) of contaminants."""
    fov_area = config.shape[0] * config.shape[1]
    n = int(rng.poisson(config.contaminant_rate * domain.area_px2 / fov_area))
    size_px = config.contaminant_size_nm / config.pixel_size_nm
    cx, cy = domain.uniform_points(n, rng)
    k = LUMPS_PER_CONTAMINANT
    scale = size_px * np.exp(0.3 * rng.standard_normal(n))
    x = np.repeat(cx, k) + np.repeat(scale, k) * 0.25 * rng.standard_normal(n * k)
    y = np.repeat(cy, k) + np.repeat(scale, k) * 0.25 * rng.standard_normal(n * k)
    sigma = np.repeat(scale, k) * rng.uniform(0.12, 0.25, n * k)
    amp = config.contaminant_signal_fraction * rng.uniform(0.4, 0.8, n * k)
    return Contaminants(x=x, y=y, sigma_px=sigma, amplitude=amp)


def render_contaminants(c: Contaminants, shape: tuple[int, int]) -> np.ndarray | None:
    """Return the contaminants' scattering fraction map, float32 (H, W), or None when none is in
    view."""
    rows, cols = shape
    if c.x.size == 0:
        return None
    out = np.zeros(shape, dtype=np.float32)
    for x, y, s, a in zip(c.x, c.y, c.sigma_px, c.amplitude, strict=True):
        reach = 3.5 * s
        r0, r1 = max(0, math.floor(y - reach)), min(rows, math.ceil(y + reach) + 1)
        c0, c1 = max(0, math.floor(x - reach)), min(cols, math.ceil(x + reach) + 1)
        if r0 >= r1 or c0 >= c1:
            continue
        gy = np.exp(-0.5 * ((np.arange(r0, r1) - y) / s) ** 2)
        gx = np.exp(-0.5 * ((np.arange(c0, c1) - x) / s) ** 2)
        out[r0:r1, c0:c1] += (a * gy[:, None] * gx[None, :]).astype(np.float32)
    return out
