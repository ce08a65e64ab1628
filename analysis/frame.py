"""``frame_metrics``: the per-frame summary the microscopist watches live.

Input is a :func:`~nanolive.analysis.table.particle_table` and the frame shape; the output is a flat dict
of plain Python ints, floats (NaN where undefined) and lists (fixed-bin histograms), ready for msgpack.
Lengths are in nm when the pixel size is known, else in px, and every key says which. Every key is
defined in docs/metrics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .agglomerates import agglomerate_metrics
from .pointpattern import (
    CSR_BAND_95,
    PAIR_CORRELATION_BIN,
    PAIR_CORRELATION_MAX,
    WeightedPairs,
    Window,
    besag_l,
    clark_evans,
    hanisch_summary,
    nearest_neighbour_distances,
    pair_correlation,
    weighted_pairs,
)
from .sizes import histogram_edges, size_histogram, size_statistics
from .table import Table, validate_pixel_size
from .tessellation import NAN_RESULT, tessellation_metrics

RIPLEY_RADII_IN_SPACINGS: tuple[tuple[str, float], ...] = (("0p5s", 0.5), ("1s", 1.0), ("2s", 2.0))


@dataclass(frozen=True)
class MetricsConfig:
    """Settings of :func:`frame_metrics`.

    Attributes:
        agglomerate_gap_px: two particles belong to one agglomerate when they touch (8-adjacent pixels)
            or when the gap between their equivalent circles, d_ij - r_i - r_j, is at most this, px.
        ring_min_particles: smallest number of particles in a closed ring of the agglomerate graph.
        tessellation: compute the Delaunay-based metrics (Voronoi cell-area CV, bond-orientational
            order): about two thirds of the cost at 1,000 particles, half of it in Qhull's
            triangulation. When False their keys are NaN / 0.
    """

    agglomerate_gap_px: float = 2.0
    ring_min_particles: int = 5
    tessellation: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.agglomerate_gap_px) and self.agglomerate_gap_px >= 0):
            raise ValueError(
                f"agglomerate_gap_px must be finite and >= 0, got {self.agglomerate_gap_px}"
            )
        if self.ring_min_particles < 3:
            raise ValueError(f"ring_min_particles must be >= 3, got {self.ring_min_particles}")


def _plain(value: float | int | np.generic) -> float | int:
    """A numpy scalar as a plain Python float / int."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def _validate(table: Table, shape: tuple[int, int]) -> tuple[int, int]:
    if len(shape) != 2 or min(int(shape[0]), int(shape[1])) < 1:
        raise ValueError(f"shape must be (rows, cols) with both >= 1, got {shape}")
    missing = [
        k for k in ("x", "y", "area_px", "diameter_equivalent_px", "touches_edge") if k not in table
    ]
    if missing:
        raise ValueError(f"table lacks columns {missing}; build it with particle_table()")
    return int(shape[0]), int(shape[1])


def _nanmean(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else math.nan


def frame_metrics(
    table: Table,
    shape: tuple[int, int],
    pixel_size_nm: float | None = None,
    *,
    config: MetricsConfig | None = None,
) -> dict[str, float | int | list]:
    """Return the per-frame metrics of a particle table (see docs/metrics.md for every key).

    Args:
        table: output of ``particle_table`` for this frame (all particles, edge ones included).
        shape: (rows, cols) of the frame, px.
        pixel_size_nm: pixel size; lengths are reported in nm when given, else in px.
        config: agglomerate and ring settings (defaults: :class:`MetricsConfig`).
    """
    rows, cols = _validate(table, shape)
    size_nm = validate_pixel_size(pixel_size_nm)
    cfg = config or MetricsConfig()
    unit, scale = ("nm", size_nm) if size_nm is not None else ("px", 1.0)
    window = Window(rows, cols)
    x = np.asarray(table["x"], dtype=np.float64)
    y = np.asarray(table["y"], dtype=np.float64)
    edge = np.asarray(table["touches_edge"], dtype=bool)
    n = int(x.size)
    out: dict[str, float | int | list] = {
        "count": n,
        "count_edge": int(edge.sum()),
        "count_interior": int(n - edge.sum()),
    }
    out.update(_density(table, window, size_nm))
    out.update(_sizes(table, edge, unit, scale))
    out.update(_shapes(table, edge))
    # unbalanced, non-compact nodes: about a third faster to build and search at these sizes; the
    # pairs found are the same (in another order)
    tree = cKDTree(np.column_stack([x, y]), balanced_tree=False, compact_nodes=False) if n else None
    dispersion, near = _dispersion(x, y, window, unit, scale, tree)
    out.update(dispersion)
    out.update(
        agglomerate_metrics(table, cfg.agglomerate_gap_px, cfg.ring_min_particles, tree, near)
    )
    out.update(tessellation_metrics(x, y, window) if cfg.tessellation else dict(NAN_RESULT))
    return {k: (v if isinstance(v, list) else _plain(v)) for k, v in out.items()}


def _counted_in_frame(table: Table, window: Window) -> int:
    """Particles counted by the unbiased counting frame: those not touching the bottom or right edge
    (all particles when the table has no bounding boxes)."""
    if "bbox_row_max" not in table or "bbox_col_max" not in table:
        return int(np.asarray(table["x"]).size)
    inside = (np.asarray(table["bbox_row_max"]) < window.rows - 1) & (
        np.asarray(table["bbox_col_max"]) < window.cols - 1
    )
    return int(np.count_nonzero(inside))


def _density(table: Table, window: Window, size_nm: float | None) -> dict[str, float]:
    """Number density (unbiased counting frame) and coverage fraction."""
    counted = _counted_in_frame(table, window)
    out: dict[str, float] = {
        "coverage_fraction": float(np.sum(table["area_px"]) / window.area),
        "density_per_px2": counted / window.area,
    }
    if size_nm is not None:
        out["density_per_um2"] = counted / (window.area * (size_nm * 1e-3) ** 2)
    return out


def _sizes(table: Table, edge: np.ndarray, unit: str, scale: float) -> dict[str, float | list]:
    """Size statistics and fixed-bin histogram of the particles not cut by the frame edge."""
    diameters = np.asarray(table["diameter_equivalent_px"], dtype=np.float64)[~edge] * scale
    out: dict[str, float | list] = dict(size_statistics(diameters, unit))
    out[f"diameter_equivalent_histogram_edges_{unit}"] = histogram_edges(unit).tolist()
    out["diameter_equivalent_histogram_counts"] = size_histogram(diameters, unit)
    feret = table.get("diameter_feret_max_px")
    out[f"diameter_feret_max_mean_{unit}"] = (
        _nanmean(np.asarray(feret, dtype=np.float64)[~edge] * scale)
        if feret is not None
        else math.nan
    )
    return out


def _shapes(table: Table, edge: np.ndarray) -> dict[str, float]:
    """Mean shape descriptors of the particles not cut by the frame edge."""
    interior = ~edge
    return {
        f"{name}_mean": _nanmean(np.asarray(table[name], dtype=np.float64)[interior])
        if name in table
        else math.nan
        for name in ("circularity", "aspect_ratio", "solidity", "convexity", "eccentricity")
    }


def _dispersion(
    x: np.ndarray, y: np.ndarray, window: Window, unit: str, scale: float, tree: cKDTree | None
) -> tuple[dict[str, float | list], WeightedPairs | None]:
    """Nearest-neighbour, Clark-Evans, Besag L and pair-correlation summaries of the centroids
    (``tree``: KD-tree of the centroids, None without particles), and the pairs found (or None)."""
    n = x.size
    spacing = math.sqrt(window.area / n) if n else math.nan
    radii = np.array([k for _, k in RIPLEY_RADII_IN_SPACINGS]) * spacing
    g_edges = np.arange(0.0, PAIR_CORRELATION_MAX + 1e-9, PAIR_CORRELATION_BIN) * spacing
    if n >= 2:
        pairs: WeightedPairs | None = weighted_pairs(tree, x, y, window, float(g_edges[-1]))
        l_minus_r = besag_l(pairs, n, window, radii) - radii
        g = pair_correlation(pairs, n, window, g_edges)
        d = nearest_neighbour_distances(tree, n, pairs)
    else:
        pairs = None
        l_minus_r = np.full(radii.size, np.nan)
        g = np.full(g_edges.size - 1, np.nan)
        d = np.full(n, np.nan)
    nn = hanisch_summary(d, x, y, window)
    ce = clark_evans(d, window)
    out: dict[str, float | list] = {
        f"spacing_mean_{unit}": spacing * scale,
        f"nn_distance_mean_{unit}": nn["mean"] * scale,
        f"nn_distance_median_{unit}": nn["median"] * scale,
        f"nn_distance_std_{unit}": nn["std"] * scale,
        "nn_distance_count_used": nn["used"],
        "clark_evans_r": ce["r"],
        "clark_evans_z": ce["z"],
        "clark_evans_p": ce["p"],
        f"besag_l_band_{unit}": CSR_BAND_95 * math.sqrt(window.area) / n * scale if n else math.nan,
    }
    for (name, _), value in zip(RIPLEY_RADII_IN_SPACINGS, l_minus_r, strict=True):
        out[f"besag_l_minus_r_{name}_{unit}"] = float(value) * scale
    out.update(_pair_correlation_summary(g, g_edges, unit, scale))
    return out, pairs


def _pair_correlation_summary(
    g: np.ndarray, edges: np.ndarray, unit: str, scale: float
) -> dict[str, float | list]:
    """Peak of g(r), its radius, the mean of g below half a spacing, and the whole curve."""
    centres = 0.5 * (edges[1:] + edges[:-1])
    finite = np.isfinite(g)
    short = g[: int(round(0.5 / PAIR_CORRELATION_BIN))]
    out: dict[str, float | list] = {
        "pair_correlation_below_0p5s": float(np.mean(short))
        if np.all(np.isfinite(short))
        else math.nan,
        "pair_correlation": g.tolist(),
    }
    if finite.any():
        k = int(np.nanargmax(np.where(finite, g, -np.inf)))
        out["pair_correlation_peak"] = float(g[k])
        out[f"pair_correlation_peak_radius_{unit}"] = float(centres[k]) * scale
    else:
        out["pair_correlation_peak"] = math.nan
        out[f"pair_correlation_peak_radius_{unit}"] = math.nan
    return out
