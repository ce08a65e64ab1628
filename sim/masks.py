"""Sparse-scan sampling masks (1 = sampled pixel) with an exact number of samples."""

from __future__ import annotations

import math

import numpy as np

from .config import MASK_KINDS


def sampling_mask(
    shape: tuple[int, int], fraction: float, kind: str, rng: np.random.Generator
) -> np.ndarray:
    """Return a uint8 (H, W) mask with exactly round(fraction * H * W) sampled pixels (value 1).

    kind "uniform": a uniformly random set of pixels (each kept with probability ``fraction``, then
    the count corrected at random, which leaves every set of that size equally likely).
    kind "line-hop": the beam runs along the fast-scan direction (x) and, at every column, hops to a
    random row inside the current band of floor(1 / fraction) rows (line-hop sampling); samples beyond
    the requested count are dropped at random, missing ones added at random.
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"sampling_mask kind must be one of {MASK_KINDS}, not {kind!r}")
    if not 0 < fraction <= 1:
        raise ValueError(f"sampling_mask fraction must be in (0, 1], not {fraction}")
    rows, cols = shape
    n_target = int(round(fraction * rows * cols))
    if kind == "uniform":
        mask = (rng.random(shape, dtype=np.float32) < fraction).astype(np.uint8)
    else:
        mask = _line_hop(shape, fraction, rng)
    return _with_count(mask, n_target, rng)


def _line_hop(shape: tuple[int, int], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Return a line-hop mask: one sample per column in every band of floor(1 / fraction) rows."""
    rows, cols = shape
    band = max(1, math.floor(1 / fraction))
    tops = np.arange(0, rows, band)
    heights = np.minimum(band, rows - tops)
    hop = (rng.random((tops.size, cols)) * heights[:, None]).astype(np.int64)
    mask = np.zeros(shape, dtype=np.uint8)
    mask[tops[:, None] + hop, np.arange(cols)[None, :]] = 1
    return mask


def _with_count(mask: np.ndarray, n_target: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``mask`` with random samples removed or added until exactly ``n_target`` are set."""
    flat = mask.reshape(-1)
    on = np.flatnonzero(flat)
    if on.size > n_target:
        flat[rng.choice(on, size=on.size - n_target, replace=False)] = 0
    elif on.size < n_target:
        off = np.flatnonzero(flat == 0)
        flat[rng.choice(off, size=n_target - on.size, replace=False)] = 1
    return mask
