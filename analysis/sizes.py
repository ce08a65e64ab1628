"""Size distribution of a frame: summary statistics and a histogram on fixed, documented bins.

Fixed bins let a dashboard stack histograms over time: 10 log-spaced bins per decade of equivalent
diameter, edges ``10 ** (k / 10)`` for k = -10 .. 40 in nm (0.1 nm to 10 um) when the pixel size is known,
and k = 0 .. 40 in px (1 px to 10,000 px) otherwise. Values outside the edges are counted in the first /
last bin. Percentiles are number-weighted (D50 = median diameter of the particle count).
"""

from __future__ import annotations

import math

import numpy as np

from .binning import bin_index

BINS_PER_DECADE = 10


def histogram_edges(unit: str) -> np.ndarray:
    """Fixed diameter-bin edges for ``unit`` "nm" (0.1 nm .. 10 um) or "px" (1 px .. 10,000 px)."""
    return _EDGES[_check_unit(unit)].copy()


def _check_unit(unit: str) -> str:
    if unit not in _EDGES:
        raise ValueError(f"unit must be 'nm' or 'px', got {unit!r}")
    return unit


_EDGES: dict[str, np.ndarray] = {
    "nm": 10.0 ** (np.arange(-BINS_PER_DECADE, 4 * BINS_PER_DECADE + 1) / BINS_PER_DECADE),
    "px": 10.0 ** (np.arange(0, 4 * BINS_PER_DECADE + 1) / BINS_PER_DECADE),
}


def size_histogram(diameters: np.ndarray, unit: str) -> list[int]:
    """Counts of ``diameters`` (in ``unit``) in the fixed bins of :func:`histogram_edges`."""
    edges = _EDGES[_check_unit(unit)]
    values = np.asarray(diameters, dtype=np.float64)
    values = values[np.isfinite(values)]
    clipped = np.clip(values, edges[0], np.nextafter(edges[-1], 0.0))
    # bins closed on the left, as np.histogram; clipping keeps every value below the last edge
    index = bin_index(clipped, edges, log=True)
    return np.bincount(index, minlength=edges.size - 1).tolist()


def _percentile(ordered: np.ndarray, q: float) -> float:
    """The q-th percentile of sorted values, by np.percentile's default (linear) rule, bit for bit:
    virtual index (n - 1) q / 100, interpolated from the side of the nearer neighbour."""
    n = ordered.size
    virtual = (n - 1) * (q / 100.0)
    if virtual >= n - 1:
        return float(ordered[-1])
    below = math.floor(virtual)
    gamma = virtual - below
    a, b = float(ordered[below]), float(ordered[below + 1])
    diff = b - a
    return b - diff * (1.0 - gamma) if gamma >= 0.5 else a + diff * gamma


def size_statistics(diameters: np.ndarray, unit: str) -> dict[str, float]:
    """Mean, median, std (sample, ddof=1), coefficient of variation and D10/D50/D90 of ``diameters``.

    Keys are ``diameter_equivalent_<stat>_<unit>`` and ``diameter_equivalent_cv`` (dimensionless);
    NaN where undefined (no values; std and cv need two values)."""
    values = np.asarray(diameters, dtype=np.float64)
    values = values[np.isfinite(values)]
    nan = math.nan
    if values.size:
        ordered = np.sort(values)
        mean = float(values.sum() / values.size)
        d10, d50, d90 = (_percentile(ordered, q) for q in (10.0, 50.0, 90.0))
    else:
        mean = d10 = d50 = d90 = nan
    if values.size > 1:  # as np.std(ddof=1): pairwise sum of squared deviations
        deviation = values - values.sum(keepdims=True) / values.size
        std = math.sqrt(float((deviation * deviation).sum() / (values.size - 1)))
    else:
        std = nan
    cv = std / mean if values.size > 1 and mean > 0 else nan
    prefix = "diameter_equivalent"
    return {
        f"{prefix}_mean_{unit}": mean,
        f"{prefix}_median_{unit}": d50,
        f"{prefix}_std_{unit}": std,
        f"{prefix}_cv": cv,
        f"{prefix}_d10_{unit}": d10,
        f"{prefix}_d50_{unit}": d50,
        f"{prefix}_d90_{unit}": d90,
    }
