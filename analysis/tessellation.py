"""Voronoi cell areas and bond-orientational order from the Delaunay triangulation of the centroids.

Voronoi cell area of point a: the sum over its Delaunay triangles (a, b, c) with circumcentre o of the
signed area of the quadrilateral (a, midpoint ab, o, midpoint ac), which is (b - c) x (o - a) / 4 for a
counter-clockwise triangle; signs make it exact for obtuse triangles. Only bounded cells that lie inside the window are used: points on the convex hull (unbounded
cells), points the triangulation leaves out (exact duplicates) and points with a Voronoi vertex
(circumcentre) outside the frame are excluded.

The triangulation is :func:`.delaunay.delaunay` (compiled sweep-hull, certified, scipy's Qhull as
fallback); ``voronoi_areas`` and ``_bond_order`` also accept a ``scipy.spatial.Delaunay`` (they read
``simplices`` only).

Bond-orientational order: psi_k(i) = mean over Delaunay neighbours j of exp(i k theta_ij); its modulus is
1 for a perfect k-fold lattice (k = 6 hexagonal, k = 4 square) and about 1 / sqrt(degree) for random
points. Reported as the mean modulus over points not on the convex hull.

Everything is computed for all corners of all triangles at once and summed per point by one
``np.bincount``; cos / sin of 4 theta and 6 theta come from the side vectors by the double-angle formulas.
"""

from __future__ import annotations

import math

import numpy as np

from .delaunay import Triangulation, delaunay
from .pointpattern import Window

NEXT = np.array([1, 2, 0])  # corner k + 1 of corner k of a triangle
AFTER_NEXT = np.array([2, 0, 1])  # corner k + 2

NAN_RESULT: dict[str, float | int] = {
    "voronoi_area_cv": math.nan,
    "voronoi_cell_count_used": 0,
    "bond_order_psi6_mean": math.nan,
    "bond_order_psi4_mean": math.nan,
}


def _circumcentres(p: np.ndarray) -> np.ndarray:
    """Circumcentres of triangles p (m, 3, 2)."""
    ox, oy, _ = _circumcentres_xy(p[:, :, 0].T, p[:, :, 1].T)
    return np.column_stack([ox, oy])


def _circumcentres_xy(cx: np.ndarray, cy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x and y of the circumcentres of triangles whose corner k is at (cx[k], cy[k]) (arrays (3, m)),
    and twice the signed area of each triangle (> 0 counter-clockwise in x, y)."""
    ax, ay = cx[0], cy[0]
    abx, aby = cx[1] - ax, cy[1] - ay
    acx, acy = cx[2] - ax, cy[2] - ay
    d = abx * acy - aby * acx
    ab2, ac2 = abx * abx + aby * aby, acx * acx + acy * acy
    twice = 2.0 * d
    return ax + (acy * ab2 - aby * ac2) / twice, ay + (abx * ac2 - acx * ab2) / twice, d


def _voronoi_parts(
    cx: np.ndarray, cy: np.ndarray, ox: np.ndarray, oy: np.ndarray, signed: np.ndarray
) -> np.ndarray:
    """Part of every corner's Voronoi cell inside each triangle (3, m): corners at (cx, cy) (3, m),
    circumcentres (ox, oy) and signed doubled areas ``signed`` (m,) of the triangles."""
    bcx, bcy = cx[NEXT] - cx[AFTER_NEXT], cy[NEXT] - cy[AFTER_NEXT]
    return (0.25 * np.sign(signed)) * (bcx * (oy - cy) - bcy * (ox - cx))


def _corner_sums(n: int, corners: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sums (q, n) per point of per-corner ``weights`` (q, 3, m) of the triangles ``corners`` (3, m)."""
    q = weights.shape[0]
    index = corners + (np.arange(q) * n)[:, None, None]
    return np.bincount(index.ravel(), weights=weights.ravel(), minlength=q * n).reshape(q, n)


def voronoi_areas(
    points: np.ndarray, tri: Triangulation, centres: np.ndarray | None = None
) -> np.ndarray:
    """Voronoi cell area of every point (px^2; meaningless for points on the convex hull);
    ``centres`` are the triangles' circumcentres when already known."""
    corners = np.ascontiguousarray(tri.simplices.T)
    cx, cy = points[:, 0][corners], points[:, 1][corners]
    ox, oy, signed = _circumcentres_xy(cx, cy)
    if centres is not None:
        ox, oy = centres[:, 0], centres[:, 1]
    parts = _voronoi_parts(cx, cy, ox, oy, signed)
    return _corner_sums(points.shape[0], corners, parts[None])[0]


def _bond_terms(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """cos 6 theta, sin 6 theta, cos 4 theta, sin 4 theta (4, 3, m) of the bonds at every corner.

    Side k of a triangle runs from corner k to corner k + 1 and is a bond of both; seen from corner
    k + 1 it is reversed, which leaves exp(i k theta) unchanged for even k. So corner k collects
    sides k and k + 2 (the side arriving at it)."""
    dx, dy = cx[NEXT] - cx, cy[NEXT] - cy
    xx, yy = dx * dx, dy * dy
    r2 = xx + yy
    c2, s2 = (xx - yy) / r2, 2.0 * dx * dy / r2
    c4, s4 = c2 * c2 - s2 * s2, 2.0 * c2 * s2
    sides = np.stack([c4 * c2 - s4 * s2, c4 * s2 + s4 * c2, c4, s4])
    return sides + sides[:, AFTER_NEXT]


def _bond_means(sums: np.ndarray, triangles_at: np.ndarray, use: np.ndarray) -> dict[str, float]:
    """Mean |psi_6| and |psi_4| over the points in ``use`` from the per-point sums of
    :func:`_bond_terms` and the number of triangles at each point (each has two bonds there)."""
    mean = sums / np.maximum(2 * triangles_at, 1)
    out: dict[str, float] = {}
    for k, (re, im) in ((6, mean[0:2]), (4, mean[2:4])):
        modulus = np.sqrt(re * re + im * im)[use]
        out[f"bond_order_psi{k}_mean"] = float(modulus.mean()) if modulus.size else math.nan
    return out


def tessellation_metrics(x: np.ndarray, y: np.ndarray, window: Window) -> dict[str, float | int]:
    """Voronoi cell-area coefficient of variation and bond-orientational order (see module doc)."""
    n = x.size
    if n < 4:
        return dict(NAN_RESULT)
    tri = delaunay(np.column_stack([x, y]))
    if tri.simplices.shape[0] == 0:
        return dict(NAN_RESULT)
    corners = np.ascontiguousarray(tri.simplices.T)
    # hull edges: the two corners other than k of every triangle without a neighbour opposite k
    open_side = tri.neighbors.T == -1
    triangles_at = np.bincount(corners.ravel(), minlength=n)
    on_hull = triangles_at == 0  # duplicates left out by Qhull
    on_hull[corners[NEXT][open_side]] = True
    on_hull[corners[AFTER_NEXT][open_side]] = True
    cx, cy = x[corners], y[corners]
    ox, oy, signed = _circumcentres_xy(cx, cy)
    outside = (ox < -0.5) | (ox > window.cols - 0.5) | (oy < -0.5) | (oy > window.rows - 0.5)
    touches_outside = np.zeros(n, dtype=bool)
    touches_outside[corners[:, outside].ravel()] = True
    valid = ~on_hull & ~touches_outside
    weights = np.concatenate([_voronoi_parts(cx, cy, ox, oy, signed)[None], _bond_terms(cx, cy)])
    sums = _corner_sums(n, corners, weights)
    areas = sums[0][valid]
    cv = float(areas.std(ddof=1) / areas.mean()) if areas.size > 1 else math.nan
    out: dict[str, float | int] = {
        "voronoi_area_cv": cv,
        "voronoi_cell_count_used": int(areas.size),
    }
    out.update(_bond_means(sums[1:], triangles_at, ~on_hull))
    return out


def _bond_order(points: np.ndarray, tri: Triangulation, use: np.ndarray) -> dict[str, float]:
    """Mean |psi_6| and |psi_4| over the points in ``use`` (not on the hull: each of their Delaunay
    edges belongs to exactly two triangles, so counting edges per triangle weights them equally)."""
    corners = np.ascontiguousarray(tri.simplices.T)
    cx, cy = points[:, 0][corners], points[:, 1][corners]
    sums = _corner_sums(points.shape[0], corners, _bond_terms(cx, cy))
    return _bond_means(sums, np.bincount(corners.ravel(), minlength=points.shape[0]), use)
