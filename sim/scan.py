"""Scan geometry: where each pixel of a scanned frame samples the scene (line jitter, flyback).

Pixel (row r, column c) samples the scene point x = col_x[c] + row_dx[r], y = r (px). Without
artefacts col_x = c and row_dx = 0. Rendering the particles and sampling the support through the same
geometry keeps the labels exactly on the distorted pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import SimConfig


@dataclass(frozen=True)
class ScanGeometry:
    """Scene x of every column (W,) and per-line x shift (H,), both px."""

    col_x: np.ndarray
    row_dx: np.ndarray
    has_flyback: bool = field(init=False)
    has_jitter: bool = field(init=False)
    max_shift_px: float = field(init=False)

    def __post_init__(self) -> None:
        fly = np.abs(self.col_x - np.arange(self.col_x.size)).max(initial=0.0)
        # derived, cached flags: columns not at their nominal x / some line shifted / largest |shift|
        object.__setattr__(self, "has_flyback", bool(fly > 0))
        object.__setattr__(self, "has_jitter", bool(np.any(self.row_dx != 0)))
        object.__setattr__(self, "max_shift_px", float(fly + np.abs(self.row_dx).max(initial=0.0)))


def scan_geometry(config: SimConfig, rng: np.random.Generator) -> ScanGeometry:
    """Return this frame's scan geometry: fixed flyback distortion and freshly drawn line jitter."""
    rows, cols = config.shape
    c = np.arange(cols, dtype=float)
    col_x = c - config.flyback_amplitude_px * np.exp(-c / config.flyback_decay_px)
    if config.line_jitter_px > 0:
        row_dx = config.line_jitter_px * rng.standard_normal(rows)
    else:
        row_dx = np.zeros(rows)
    return ScanGeometry(col_x=col_x, row_dx=row_dx)
