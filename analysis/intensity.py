"""Particle intensity above the local background.

Local background of a particle: the frame is cut into square tiles (``tile_px`` wide, on a fixed grid
from the top-left corner); each tile's level is the median of its background pixels (label 0), taken on
a regular subsample of at most ~16,384 pixels of the frame (every ``stride``-th row and column), or the
median of all background samples where the tile has fewer than ``MIN_TILE_SAMPLES``. The particle's
background is the bilinear interpolation of the tile levels between tile centres at its centroid
(constant beyond the outer centres), so smooth illumination gradients cancel. NaN when the frame has no
background at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_TILE_SAMPLES = 16
MAX_SAMPLES = 16384


@dataclass(frozen=True)
class Intensities:
    """Per-particle intensities in detector counts (arrays of length n_particles).

    Attributes:
        mean: mean pixel value minus the local background.
        integrated: sum over the particle's pixels of (pixel value - local background).
        background: the local background level.
    """

    mean: np.ndarray
    integrated: np.ndarray
    background: np.ndarray


def sampling_stride(n_pixels: int) -> int:
    """Row/column stride that keeps the background subsample at or below MAX_SAMPLES pixels."""
    return max(1, int(np.ceil(np.sqrt(n_pixels / MAX_SAMPLES))))


def local_background(
    image: np.ndarray, labels: np.ndarray, x: np.ndarray, y: np.ndarray, tile_px: int = 64
) -> np.ndarray:
    """Return the local background level (counts) at each centroid (x, y) in px (see module doc)."""
    stride = sampling_stride(image.size)
    sub = np.array(image[::stride, ::stride], dtype=np.float32)
    sub[labels[::stride, ::stride] != 0] = np.nan
    t = max(1, tile_px // stride)
    ny, nx = -(-sub.shape[0] // t), -(-sub.shape[1] // t)
    grid = np.full((ny * t, nx * t), np.nan, dtype=np.float32)
    grid[: sub.shape[0], : sub.shape[1]] = sub
    tiles = grid.reshape(ny, t, nx, t).transpose(0, 2, 1, 3).reshape(ny, nx, t * t)
    samples = np.count_nonzero(~np.isnan(tiles), axis=2)
    ordered = np.sort(tiles, axis=2)  # NaN (particle pixels, padding) sort last
    lower = np.take_along_axis(ordered, np.maximum(samples - 1, 0)[..., None] // 2, axis=2)[..., 0]
    upper = np.take_along_axis(ordered, (samples // 2)[..., None], axis=2)[..., 0]
    medians = 0.5 * (lower.astype(np.float64) + upper)
    sparse = samples < MIN_TILE_SAMPLES
    if sparse.any():  # fall back to the frame's background median
        background = sub[~np.isnan(sub)]
        medians[sparse] = float(np.median(background)) if background.size else np.nan
    fy = _fractional_tile(np.asarray(y, dtype=np.float64), image.shape[0], stride * t, ny)
    fx = _fractional_tile(np.asarray(x, dtype=np.float64), image.shape[1], stride * t, nx)
    y0, x0 = np.floor(fy).astype(np.intp), np.floor(fx).astype(np.intp)
    y1, x1 = np.minimum(y0 + 1, ny - 1), np.minimum(x0 + 1, nx - 1)
    wy, wx = fy - y0, fx - x0
    top = medians[y0, x0] * (1 - wx) + medians[y0, x1] * wx
    bottom = medians[y1, x0] * (1 - wx) + medians[y1, x1] * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float64)


def _fractional_tile(coord: np.ndarray, length: int, tile: int, n_tiles: int) -> np.ndarray:
    """Fractional tile index of pixel coordinates, 0 at the first tile's centre, clamped to the grid."""
    starts = np.arange(n_tiles) * tile
    centres = 0.5 * (starts + np.minimum(starts + tile, length) - 1)
    return np.interp(coord, centres, np.arange(n_tiles, dtype=np.float64))


def particle_intensities(
    values: np.ndarray, index: np.ndarray, area_px: np.ndarray, background: np.ndarray
) -> Intensities:
    """Return mean / integrated intensity above ``background`` from the foreground pixel ``values``
    and their compact particle ``index``."""
    total = np.bincount(index, weights=values, minlength=area_px.size)
    mean_raw = total / np.maximum(area_px, 1.0)
    mean = mean_raw - background
    return Intensities(mean=mean, integrated=mean * area_px, background=background)
