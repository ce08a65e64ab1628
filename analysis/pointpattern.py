"""Dispersion statistics of the particle centroids in the rectangular frame window.

Window: the frame's rectangle [-0.5, cols - 0.5] x [-0.5, rows - 0.5] px (pixel edges), area A,
perimeter P, n points, intensity lambda = n / A, mean spacing s = sqrt(A / n).

* Nearest-neighbour distances with Hanisch's edge correction: point i with nearest-neighbour distance
  d_i is used only when d_i <= b_i (its distance to the window border, so the true neighbour cannot be
  outside), weighted by 1 / |W eroded by d_i| = 1 / ((cols - 2 d_i)(rows - 2 d_i)).
* Clark-Evans aggregation index R = mean(d_i) / E[d], all points, with Donnelly's (1978) edge-corrected
  expectation for complete spatial randomness (CSR) in a rectangle:
  E[d] = 0.5 sqrt(A/n) + (0.0514 + 0.041 / sqrt(n)) P / n, Var = 0.0703 A / n^2 + 0.037 P sqrt(A / n^5);
  z = (mean - E) / sqrt(Var), two-sided p-value from the normal distribution. R > 1: regular, < 1: clustered.
* Ripley's K with Ripley's isotropic edge correction: K(r) = A / (n (n - 1)) sum_{i != j, d_ij <= r} w_ij,
  w_ij = 1 / (fraction of the circle of radius d_ij around point i inside the window), exact for a
  rectangle while r <= min(rows, cols) / 2. Besag's L(r) = sqrt(K(r) / pi); under CSR L(r) - r ~ 0 with
  an approximate 95 % band of +- 1.42 sqrt(A) / n (Ripley 1979).
* Pair-correlation g(r) from the same weighted pair counts in annuli of width 0.1 s up to 2 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .binning import bin_index

CSR_BAND_95 = 1.42
PAIR_CORRELATION_BIN = 0.1  # in units of the mean spacing s
PAIR_CORRELATION_MAX = 2.0  # in units of s


@dataclass(frozen=True)
class Window:
    """Rectangular observation window of a frame, px (pixel-edge bounds, origin at -0.5)."""

    rows: int
    cols: int

    def __post_init__(self) -> None:
        if self.rows < 1 or self.cols < 1:
            raise ValueError(f"window must be at least 1 x 1 px, got {self.rows} x {self.cols}")

    @property
    def area(self) -> float:
        """Window area, px^2."""
        return float(self.rows * self.cols)

    @property
    def perimeter(self) -> float:
        """Window perimeter, px."""
        return 2.0 * (self.rows + self.cols)

    def edge_distances(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distances (n, 4) of points to the left, right, top and bottom edges, px."""
        return np.stack([x + 0.5, self.cols - 0.5 - x, y + 0.5, self.rows - 0.5 - y], axis=1)

    def border_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance of points to the nearest window edge, px."""
        return np.minimum(
            np.minimum(x + 0.5, self.cols - 0.5 - x), np.minimum(y + 0.5, self.rows - 0.5 - y)
        )

    def circle_fraction_inside(self, x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Fraction of the circumference of the circle (x, y, r) inside the window (r <= half the
        shorter side; arcs cut by two adjacent edges are not counted twice)."""
        radius = np.maximum(r, 1e-12)
        with np.errstate(divide="ignore", invalid="ignore"):
            left, right, top, bottom = (
                np.arccos(np.clip(e / radius, 0.0, 1.0))
                for e in (x + 0.5, self.cols - 0.5 - x, y + 0.5, self.rows - 0.5 - y)
            )
        outside = 2.0 * (((left + right) + top) + bottom)
        for a, b in ((left, top), (left, bottom), (right, top), (right, bottom)):
            outside -= np.maximum(0.0, a + b - np.pi / 2)
        return np.clip(1.0 - outside / (2.0 * np.pi), 1e-6, 1.0)


def nearest_neighbour_distances(
    tree: cKDTree, n: int, pairs: WeightedPairs | None = None
) -> np.ndarray:
    """Distance from each point to its nearest other point, px (NaN for n < 2).

    With ``pairs`` (all ordered pairs closer than some radius) the distance is read from them and the
    tree is searched only for points without a neighbour in that radius."""
    if n < 2:
        return np.full(n, np.nan)
    if pairs is None:
        return tree.query(tree.data, k=2)[0][:, 1]
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, pairs.source, pairs.distance)
    lonely = np.flatnonzero(~np.isfinite(nearest))
    if lonely.size:
        nearest[lonely] = tree.query(tree.data[lonely], k=2)[0][:, 1]
    return nearest


def hanisch_summary(
    d: np.ndarray, x: np.ndarray, y: np.ndarray, window: Window
) -> dict[str, float]:
    """Hanisch-weighted mean, std and median of the nearest-neighbour distances, px, and the number
    of points used. NaN where no point qualifies."""
    nan = math.nan
    if d.size < 2:
        return {"mean": nan, "std": nan, "median": nan, "used": 0}
    ok = d <= window.border_distance(x, y)
    eroded = (window.cols - 2 * d[ok]) * (window.rows - 2 * d[ok])
    ok_d = d[ok][eroded > 0]
    w = 1.0 / eroded[eroded > 0]
    if ok_d.size == 0:
        return {"mean": nan, "std": nan, "median": nan, "used": 0}
    mean = float(np.sum(w * ok_d) / w.sum())
    std = float(np.sqrt(np.sum(w * (ok_d - mean) ** 2) / w.sum())) if ok_d.size > 1 else nan
    order = np.argsort(ok_d)
    cumulative = np.cumsum(w[order]) / w.sum()
    median = float(ok_d[order][np.searchsorted(cumulative, 0.5)])
    return {"mean": mean, "std": std, "median": median, "used": int(ok_d.size)}


def clark_evans(d: np.ndarray, window: Window) -> dict[str, float]:
    """Clark-Evans R with Donnelly's edge correction, its z-score and two-sided p-value."""
    n = d.size
    if n < 2 or not np.all(np.isfinite(d)):
        return {"r": math.nan, "z": math.nan, "p": math.nan}
    area, perimeter = window.area, window.perimeter
    expected = 0.5 * math.sqrt(area / n) + (0.0514 + 0.041 / math.sqrt(n)) * perimeter / n
    variance = 0.0703 * area / n**2 + 0.037 * perimeter * math.sqrt(area / n**5)
    mean = float(d.mean())
    z = (mean - expected) / math.sqrt(variance)
    return {"r": mean / expected, "z": z, "p": math.erfc(abs(z) / math.sqrt(2.0))}


@dataclass(frozen=True)
class WeightedPairs:
    """Ordered pairs (i, j), i != j, closer than some radius, with their isotropic edge weights.

    Attributes:
        source, target: i and j of each pair.
        distance: d_ij, px.
        weight: Ripley's isotropic edge-correction weight w_ij.
        max_radius: the radius, px (capped at half the shorter window side).
    """

    source: np.ndarray
    target: np.ndarray
    distance: np.ndarray
    weight: np.ndarray
    max_radius: float


def weighted_pairs(
    tree: cKDTree, x: np.ndarray, y: np.ndarray, window: Window, radius: float
) -> WeightedPairs:
    """All ordered pairs closer than ``radius`` (px, capped at half the shorter window side) with
    Ripley's isotropic edge-correction weights."""
    radius = min(radius, 0.5 * min(window.rows, window.cols))
    if x.size < 2 or radius <= 0:
        none = np.zeros(0, dtype=np.intp)
        return WeightedPairs(none, none, np.zeros(0), np.zeros(0), radius)
    pairs = tree.query_pairs(radius, output_type="ndarray")
    first, second = pairs[:, 0], pairs[:, 1]
    dx, dy = x[first] - x[second], y[first] - y[second]
    half = np.sqrt(dx * dx + dy * dy)  # equal for (i, j) and (j, i): negation is exact
    i = np.concatenate([first, second])
    j = np.concatenate([second, first])
    d = np.concatenate([half, half])
    weight = np.ones(d.size)
    cut = np.flatnonzero(d > window.border_distance(x, y)[i])  # circles reaching past the border
    weight[cut] = 1.0 / window.circle_fraction_inside(x[i[cut]], y[i[cut]], d[cut])
    return WeightedPairs(i, j, d, weight, radius)


def besag_l(pairs: WeightedPairs, n: int, window: Window, radii: np.ndarray) -> np.ndarray:
    """Besag's L(r) = sqrt(K(r) / pi) at ``radii`` (px); NaN beyond the valid radius or for n < 2."""
    radii = np.asarray(radii, dtype=np.float64)
    if n < 2:
        return np.full(radii.shape, np.nan)
    flat = np.sort(radii.ravel())
    # weight of the pairs in each shell between consecutive sorted radii, then cumulated
    shell = np.zeros(pairs.distance.size, dtype=np.intp)
    for r in flat:
        shell += pairs.distance > r
    within = np.cumsum(np.bincount(shell, weights=pairs.weight, minlength=flat.size + 1))
    counts = within[np.searchsorted(flat, radii.ravel(), side="left")]
    k = window.area / (n * (n - 1)) * counts.reshape(radii.shape)
    return np.where(radii <= pairs.max_radius, np.sqrt(k / np.pi), np.nan)


def pair_correlation(pairs: WeightedPairs, n: int, window: Window, edges: np.ndarray) -> np.ndarray:
    """Pair-correlation g(r) in the annuli between ``edges`` (px); NaN beyond the valid radius."""
    if n < 2:
        return np.full(edges.size - 1, np.nan)
    sums = _histogram(pairs.distance, edges, pairs.weight)
    ring_area = np.pi * (edges[1:] ** 2 - edges[:-1] ** 2)
    g = window.area / (n * (n - 1)) * sums / ring_area
    return np.where(edges[1:] <= pairs.max_radius, g, np.nan)


def _histogram(values: np.ndarray, edges: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sums of ``values`` in the bins between increasing ``edges`` with np.histogram's rule
    (bins closed on the left, the last one on both sides, values outside ignored), summed directly
    (np.histogram sorts the values and differences cumulative sums)."""
    nbins = edges.size - 1
    inside = (values >= edges[0]) & (values <= edges[-1])
    if not inside.all():
        values, weights = values[inside], weights[inside]
    index = bin_index(values, edges)
    np.minimum(index, nbins - 1, out=index)  # a value on the last edge gets the last bin
    return np.bincount(index, weights=weights, minlength=nbins)
