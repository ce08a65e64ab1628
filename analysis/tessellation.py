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
    ox, oy = _circumcentres_xy(p[:, :, 0].T, p[:, :, 1].T)
    return np.column_stack([ox, oy])


def _circumcentres_xy(cx: np.ndarray, cy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the circumcentres of triangles whose corner k is at (cx[k], cy[k]) (arrays (3, m))."""
    ax, ay = cx[0], cy[0]
    abx, aby = cx[1] - ax, cy[1] - ay
    acx, acy = cx[2] - ax, cy[2] - ay
    d = 2.0 * (abx * acy - aby * acx)
    ab2, ac2 = abx * abx + aby * aby, acx * acx + acy * acy
    return ax + (acy * ab2 - aby * ac2) / d, ay + (abx * ac2 - acx * ab2) / d


def voronoi_areas(
    points: np.ndarray, tri: Delaunay, centres: np.ndarray | None = None
) -> np.ndarray:
    """Voronoi cell area of every point (px^2; meaningless for points on the convex hull);
    ``centres`` are the triangles' circumcentres when already known."""
    corners = np.ascontiguousarray(tri.simplices.T)
    cx, cy = points[:, 0][corners], points[:, 1][corners]
    if centres is None:
        ox, oy = _circumcentres_xy(cx, cy)
    else:
        ox, oy = centres[:, 0], centres[:, 1]
    return _voronoi_areas(points.shape[0], corners, cx, cy, ox, oy)


def _voronoi_areas(
    n: int, corners: np.ndarray, cx: np.ndarray, cy: np.ndarray, ox: np.ndarray, oy: np.ndarray
) -> np.ndarray:
    """Voronoi cell areas from the triangles' corner indices ``corners`` (3, m), their coordinates
    cx, cy (3, m) and circumcentres ox, oy (m,), all corners at once: for corner a with the
    next corners b and c, the signed area of (a, midpoint ab, o, midpoint ac)."""
    bx, by = cx[NEXT], cy[NEXT]
    orientation = np.sign((bx[0] - cx[0]) * (cy[2] - cy[0]) - (by[0] - cy[0]) * (cx[2] - cx[0]))
    oax, oay = ox - cx, oy - cy
    mbx, mby = 0.5 * (cx + bx) - cx, 0.5 * (cy + by) - cy
    mcx, mcy = 0.5 * (cx + cx[AFTER_NEXT]) - cx, 0.5 * (cy + cy[AFTER_NEXT]) - cy
    part = 0.5 * ((mbx * oay - mby * oax) + (oax * mcy - oay * mcx))
    # one sum per corner slot k, the three added in slot order
    slot = corners + (np.arange(3) * n)[:, None]
    sums = np.bincount(slot.ravel(), weights=(orientation * part).ravel(), minlength=3 * n)
    return sums[:n] + sums[n : 2 * n] + sums[2 * n :]


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
    corners = np.ascontiguousarray(tri.simplices.T)
    # hull edges: the two corners other than k of every triangle without a neighbour opposite k
    open_side = tri.neighbors.T == -1
    triangles_at = np.bincount(corners.ravel(), minlength=n)
    on_hull = triangles_at == 0  # duplicates left out by Qhull
    on_hull[corners[NEXT][open_side]] = True
    on_hull[corners[AFTER_NEXT][open_side]] = True
    cx, cy = x[corners], y[corners]
    ox, oy = _circumcentres_xy(cx, cy)
    outside = (ox < -0.5) | (ox > window.cols - 0.5) | (oy < -0.5) | (oy > window.rows - 0.5)
    touches_outside = np.zeros(n, dtype=bool)
    touches_outside[corners[:, outside].ravel()] = True
    valid = ~on_hull & ~touches_outside
    areas = _voronoi_areas(n, corners, cx, cy, ox, oy)[valid]
    cv = float(areas.std(ddof=1) / areas.mean()) if areas.size > 1 else math.nan
    out: dict[str, float | int] = {
        "voronoi_area_cv": cv,
        "voronoi_cell_count_used": int(areas.size),
    }
    out.update(_bond_order_corners(n, corners, cx, cy, ~on_hull, triangles_at))
    return out


def _bond_order(points: np.ndarray, tri: Delaunay, use: np.ndarray) -> dict[str, float]:
    """Mean |psi_6| and |psi_4| over the points in ``use`` (not on the hull: each of their Delaunay
    edges belongs to exactly two triangles, so counting edges per triangle weights them equally)."""
    corners = np.ascontiguousarray(tri.simplices.T)
    cx, cy = points[:, 0][corners], points[:, 1][corners]
    return _bond_order_corners(points.shape[0], corners, cx, cy, use)


def _bond_order_corners(
    n: int,
    corners: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    use: np.ndarray,
    triangles_at: np.ndarray | None = None,
) -> dict[str, float]:
    """:func:`_bond_order` from the triangles' corner indices and coordinates (3, m) (and the number
    of triangles at each point when known).

    Side k of a triangle runs from corner k to corner k + 1 and is a bond of both; seen from corner
    k + 1 its direction is reversed, which leaves exp(i k theta) unchanged for even k. So corner k
    collects sides k and k + 2 (the side arriving at it), and with cos / sin of the multiple angles
    from the unit vector by the double-angle formulas no trigonometric function is needed."""
    dx, dy = cx[NEXT] - cx, cy[NEXT] - cy
    length = np.sqrt(dx * dx + dy * dy)
    c1, s1 = dx / length, dy / length
    c2, s2 = c1 * c1 - s1 * s1, 2.0 * c1 * s1
    c4, s4 = c2 * c2 - s2 * s2, 2.0 * c2 * s2
    c6, s6 = c4 * c2 - s4 * s2, c4 * s2 + s4 * c2
    index = corners.ravel()
    if triangles_at is None:  # number of triangles at each point
        triangles_at = np.bincount(index, minlength=n)
    degree = np.maximum(2 * triangles_at, 1)
    out: dict[str, float] = {}
    for k, c, s in ((6, c6, s6), (4, c4, s4)):
        re = np.bincount(index, weights=(c + c[AFTER_NEXT]).ravel(), minlength=n) / degree
        im = np.bincount(index, weights=(s + s[AFTER_NEXT]).ravel(), minlength=n) / degree
        modulus = np.sqrt(re * re + im * im)[use]
        out[f"bond_order_psi{k}_mean"] = float(modulus.mean()) if modulus.size else math.nan
    return out
