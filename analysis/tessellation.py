"""Voronoi cell areas and bond-orientational order from the Delaunay triangulation of the centroids.

Voronoi cell area of point a: the sum over its Delaunay triangles (a, b, c) with circumcentre o of the
signed area of the quadrilateral (a, midpoint ab, o, midpoint ac); signs make it exact for obtuse
triangles. Only bounded cells that lie inside the window are used: points on the convex hull (unbounded
cells), points Qhull leaves out (exact duplicates) and points with a Voronoi vertex (circumcentre)
outside the frame are excluded.

Bond-orientational order: psi_k(i) = mean over Delaunay neighbours j of exp(i k theta_ij); its modulus is
1 for a perfect k-fold lattice (k = 6 hexagonal, k = 4 square) and about 1 / sqrt(degree) for random
points. Reported as the mean modulus over points not on the convex hull.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import Delaunay, QhullError

from .pointpattern import Window

NAN_RESULT: dict[str, float | int] = {
    "voronoi_area_cv": math.nan,
    "voronoi_cell_count_used": 0,
    "bond_order_psi6_mean": math.nan,
    "bond_order_psi4_mean": math.nan,
}


def _circumcentres(p: np.ndarray) -> np.ndarray:
    """Circumcentres of triangles p (m, 3, 2)."""
    a, b, c = p[:, 0], p[:, 1], p[:, 2]
    ab, ac = b - a, c - a
    d = 2.0 * (ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])
    ab2, ac2 = (ab**2).sum(1), (ac**2).sum(1)
    ux = (ac[:, 1] * ab2 - ab[:, 1] * ac2) / d
    uy = (ab[:, 0] * ac2 - ac[:, 0] * ab2) / d
    return a + np.column_stack([ux, uy])


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]


def voronoi_areas(
    points: np.ndarray, tri: Delaunay, centres: np.ndarray | None = None
) -> np.ndarray:
    """Voronoi cell area of every point (px^2; meaningless for points on the convex hull);
    ``centres`` are the triangles' circumcentres when already known."""
    s = tri.simplices
    p = points[s]
    o = _circumcentres(p) if centres is None else centres
    orientation = np.sign(_cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]))
    area = np.zeros(points.shape[0])
    for k in range(3):
        a, b, c = p[:, k], p[:, (k + 1) % 3], p[:, (k + 2) % 3]
        m_ab, m_ac = 0.5 * (a + b), 0.5 * (a + c)
        part = 0.5 * (_cross(m_ab - a, o - a) + _cross(o - a, m_ac - a))
        area += np.bincount(s[:, k], weights=orientation * part, minlength=points.shape[0])
    return area


def tessellation_metrics(x: np.ndarray, y: np.ndarray, window: Window) -> dict[str, float | int]:
    """Voronoi cell-area coefficient of variation and bond-orientational order (see module doc)."""
    n = x.size
    if n < 4:
        return dict(NAN_RESULT)
    points = np.column_stack([x, y])
    try:
        tri = Delaunay(points)
    except (QhullError, ValueError):
        return dict(NAN_RESULT)
    on_hull = np.zeros(n, dtype=bool)
    on_hull[tri.convex_hull.ravel()] = True
    on_hull |= np.bincount(tri.simplices.ravel(), minlength=n) == 0  # duplicates left out by Qhull
    o = _circumcentres(points[tri.simplices])
    outside = (
        (o[:, 0] < -0.5)
        | (o[:, 0] > window.cols - 0.5)
        | (o[:, 1] < -0.5)
        | (o[:, 1] > window.rows - 0.5)
    )
    touches_outside = np.zeros(n, dtype=bool)
    touches_outside[tri.simplices[outside].ravel()] = True
    valid = ~on_hull & ~touches_outside
    areas = voronoi_areas(points, tri, o)[valid]
    cv = float(areas.std(ddof=1) / areas.mean()) if areas.size > 1 else math.nan
    out: dict[str, float | int] = {
        "voronoi_area_cv": cv,
        "voronoi_cell_count_used": int(areas.size),
    }
    out.update(_bond_order(points, tri, ~on_hull))
    return out


def _bond_order(points: np.ndarray, tri: Delaunay, use: np.ndarray) -> dict[str, float]:
    """Mean |psi_6| and |psi_4| over the points in ``use`` (not on the hull: each of their Delaunay
    edges belongs to exactly two triangles, so counting edges per triangle weights them equally)."""
    s = tri.simplices
    i = np.concatenate([s[:, 0], s[:, 1], s[:, 2], s[:, 1], s[:, 2], s[:, 0]])
    j = np.concatenate([s[:, 1], s[:, 2], s[:, 0], s[:, 0], s[:, 1], s[:, 2]])
    dx = points[j, 0] - points[i, 0]
    dy = points[j, 1] - points[i, 1]
    u = (dx + 1j * dy) / np.sqrt(dx * dx + dy * dy)
    u2 = u * u
    u4 = u2 * u2
    n = points.shape[0]
    degree = np.maximum(np.bincount(i, minlength=n), 1)
    out: dict[str, float] = {}
    for k, uk in ((6, u4 * u2), (4, u4)):
        re = np.bincount(i, weights=uk.real, minlength=n) / degree
        im = np.bincount(i, weights=uk.imag, minlength=n) / degree
        modulus = np.sqrt(re * re + im * im)[use]
        out[f"bond_order_psi{k}_mean"] = float(modulus.mean()) if modulus.size else math.nan
    return out
