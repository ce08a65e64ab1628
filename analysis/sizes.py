"""Size distribution of a frame: summary statistics and a histogram on fixed, documented bins.

Fixed bins let a dashboard stack histograms over time: 10 log-spaced bins per decade of equivalent
diameter, edges ``10 ** (k / 10)`` for k = -10 .. 40 in nm (0.1 nm to 10 um) when the pixel size is known,
and k = 0 .. 40 in px (1 px to 10,000 px) otherwise. Values outside the edges are counted in the first /
last bin. Percentiles are number-weighted (D50 = median diameter of the particle count).
"""

from __future__ import annotations

import math

import numpy as np

BINS_PER_DECADE = 10


def histogram_edges(unit: str) -> np.ndarray:
    """Fixed diameter-bin edges for ``unit`` "nm" (0.1 nm .. 10 um) or "px" (1 px .. 10,000 px)."""
    if unit == "nm":
        k = np.arange(-BINS_PER_DECADE, 4 * BINS_PER_DECADE + 1)
    elif unit == "px":
        k = np.arange(0, 4 * BINS_PER_DECADE + 1)
    else:
        raise ValueError(f"unit must be 'nm' or 'px', got {unit!r}")
    return 10.0 ** (k / BINS_PER_DECADE)


def size_histogram(diameters: np.ndarray, unit: str) -> list[int]:
    """Counts of ``diameters`` (in ``unit``) in the fixed bins of :func:`histogram_edges`."""
    edges = histogram_edges(unit)
    values = np.asarray(diameters, dtype=np.float64)
    values = values[np.isfinite(values)]
    clipped = np.clip(values, edges[0], np.nextafter(edges[-1], 0.0))
    counts, _ = np.histogram(clipped, bins=edges)
    return [int(c) for c in counts]


def size_statistics(diameters: np.ndarray, unit: str) -> dict[str, float]:
    """Mean, median, std (sample, ddof=1), coefficient of variation and D10/D50/D90 of ``diameters``.

    Keys are ``diameter_equivalent_<stat>_<unit>`` and ``diameter_equivalent_cv`` (dimensionless);
    NaN where undefined (no values; std and cv need two values)."""
    values = np.asarray(diameters, dtype=np.float64)
    values = values[np.isfinite(values)]
    nan = math.nan
    if values.size:
        mean = float(values.mean())
        d10, d50, d90 = (float(v) for v in np.percentile(values, [10.0, 50.0, 90.0]))
    else:
        mean = d10 = d50 = d90 = nan
    std = float(values.std(ddof=1)) if values.size > 1 else nan
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
