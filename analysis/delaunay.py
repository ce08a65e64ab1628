"""2-D Delaunay triangulation: a numba-compiled sweep-hull, certified, with scipy's Qhull as fallback.

Algorithm (Sinclair's sweep-hull, in the halfedge form popularised by Delaunator; written here from the
published description): seed triangle = the point nearest the centre of the bounding box, its nearest
neighbour and the point making the smallest circumcircle with both; the other points are inserted in order
of distance from the seed's circumcentre, so each lies outside the current convex hull. A new point is
joined to every hull edge it sees (found from a hash of the hull vertices by angle around the centre) and
the edges opposite it are flipped until locally Delaunay (Lawson). Exact duplicate points are left out
(as Qhull does); the one with the lowest index is kept.

Predicates: orientation is exact while building (float64 with Shewchuk's static error bound; where that
cannot tell, exact expansion arithmetic); the in-circle test is float64 with Shewchuk's static error
bound, its sign "certain" only when the determinant exceeds the bound (then it is the exact sign). The
result is returned only when a final check certifies it, each sign with a relative margin of 1e-12 (far
above float64 rounding, so these signs are exact; about Qhull's own tolerance, so Qhull decides
whatever it might merge): every triangle counter-clockwise, halfedges consistent, every interior edge
locally Delaunay, the boundary a convex polygon turning once, each turn convex or exactly straight
(exactly collinear hull points, e.g. the centroids of equal particles cut by the frame edge, are hull
vertices, as in Qhull), every distinct point a vertex, and 2n - 2 - h triangles (n distinct points, h on
the hull). Such a triangulation is the unique Delaunay triangulation, the same as Qhull's. Anything
else falls back to ``scipy.spatial.Delaunay``, so the result is exactly Qhull's on such input: four
points cocircular to within 1e-12 (a perfect lattice; pixel-quantised centroids), points nearly but not
exactly on a line on the hull (Qhull drops the sliver triangle that the exact triangulation has),
near-duplicates, any internal inconsistency.
Coordinates are in px (x = column, y = row); "counter-clockwise" means a positive signed area in (x, y).

The first call compiles (5-15 s on the development VM; ``cache=True`` keeps the machine code between
processes where the package directory, ``NUMBA_CACHE_DIR`` or the user's cache directory is writable,
and loading it takes well under a second); :func:`warm_up` does it up front.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.spatial import Delaunay, QhullError

EPSILON = 2.0**-53  # half an ulp of 1.0 (float64 unit roundoff)
ORIENT_BOUND = (3.0 + 16.0 * EPSILON) * EPSILON  # Shewchuk's ccwerrboundA
INCIRCLE_BOUND = (10.0 + 96.0 * EPSILON) * EPSILON  # Shewchuk's iccerrboundA
QHULL_MARGIN = 1e-12  # final check: relative margin of each sign, so that Qhull (which merges
# nearly cocircular / collinear points with a tolerance of this order) decides near-degenerate input
SPLITTER = 2.0**27 + 1.0  # Dekker's split of a float64 into two 26-bit halves

OK = 0
FAIL = 1  # uncertain predicate or inconsistency: use Qhull
DEGENERATE = 2  # fewer than 3 distinct points or all exactly collinear: Qhull decides


def _compiled(fn: Callable) -> Callable:
    """``njit(cache=True)``; without a writable cache location anywhere (numba then refuses caching
    when the function is defined) compiled in memory in every process instead, with a warning."""
    try:
        return njit(cache=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        warnings.warn(
            "numba has no writable cache directory: the Delaunay triangulation is compiled in "
            "memory in every process (set NUMBA_CACHE_DIR to keep it)",
            stacklevel=1,
        )
        return njit(fn)


class Triangulation(NamedTuple):
    """Triangles (M, 3) of point indices, counter-clockwise, and ``neighbors`` (M, 3): the triangle
    opposite corner k of each, -1 on the convex hull (the attributes of ``scipy.spatial.Delaunay``)."""

    simplices: np.ndarray
    neighbors: np.ndarray


@_compiled
def _sign_beyond(det: float, bound: float) -> int:
    """+1 if det > bound, -1 if det < -bound, else 0 (undecided within the error bound)."""
    if det > bound:
        return 1
    if -det > bound:
        return -1
    return 0


@_compiled
def _orient_filtered(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, tolerance: float
) -> int:
    """+1 if a, b, c turn counter-clockwise, -1 clockwise, 0 when the determinant is within
    ``tolerance`` times its bound (ORIENT_BOUND: float64 cannot tell; Shewchuk's static bound)."""
    left = (bx - ax) * (cy - ay)
    right = (by - ay) * (cx - ax)
    det = left - right
    bound = tolerance * (abs(left) + abs(right))
    return _sign_beyond(det, bound)


@_compiled
def _orient(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """+1 if a, b, c turn counter-clockwise, -1 clockwise, 0 collinear, exactly."""
    sign = _orient_filtered(ax, ay, bx, by, cx, cy, ORIENT_BOUND)
    return sign if sign != 0 else _orient_exact(ax, ay, bx, by, cx, cy)


@_compiled
def _two_sum(a: float, b: float) -> tuple[float, float]:
    """a + b as a float and its rounding error (Knuth), exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@_compiled
def _two_product(a: float, b: float) -> tuple[float, float]:
    """a * b as a float and its rounding error (Dekker's split), exactly."""
    p = a * b
    ca, cb = SPLITTER * a, SPLITTER * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    return p, al * bl - (((p - ah * bh) - al * bh) - ah * bl)


@_compiled
def _orient_exact(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Exact sign of (b - a) x (c - a): the 16 exact partial products of the differences (each
    difference a float and its error) summed into a nonoverlapping expansion (Shewchuk's
    grow-expansion), whose largest nonzero component has the sign of the sum."""
    u1, u2 = _two_sum(bx, -ax)
    v1, v2 = _two_sum(cy, -ay)
    w1, w2 = _two_sum(by, -ay)
    z1, z2 = _two_sum(cx, -ax)
    terms = np.empty(16)
    k = 0
    for sign, p1, p2, q1, q2 in ((1.0, u1, u2, v1, v2), (-1.0, w1, w2, z1, z2)):
        for p in (p1, p2):
            for q in (q1, q2):
                hi, lo = _two_product(p, q)
                terms[k], terms[k + 1] = sign * hi, sign * lo
                k += 2
    expansion = np.zeros(16)
    for size in range(16):
        carry = terms[size]
        for j in range(size):
            carry, expansion[j] = _two_sum(carry, expansion[j])
        expansion[size] = carry
    for j in range(15, -1, -1):
        if expansion[j] != 0.0:
            return 1 if expansion[j] > 0.0 else -1
    return 0


@_compiled
def _incircle(
    x: np.ndarray, y: np.ndarray, a: int, b: int, c: int, d: int, tolerance: float
) -> int:
    """+1 if point d is inside the circumcircle of the counter-clockwise triangle a, b, c, -1 outside,
    0 when the determinant is within ``tolerance`` times its bound (INCIRCLE_BOUND: float64 cannot
    tell)."""
    adx, ady = x[a] - x[d], y[a] - y[d]
    bdx, bdy = x[b] - x[d], y[b] - y[d]
    cdx, cdy = x[c] - x[d], y[c] - y[d]
    bc1, bc2 = bdx * cdy, cdx * bdy
    ca1, ca2 = cdx * ady, adx * cdy
    ab1, ab2 = adx * bdy, bdx * ady
    alift = adx * adx + ady * ady
    blift = bdx * bdx + bdy * bdy
    clift = cdx * cdx + cdy * cdy
    det = alift * (bc1 - bc2) + blift * (ca1 - ca2) + clift * (ab1 - ab2)
    permanent = (
        (abs(bc1) + abs(bc2)) * alift
        + (abs(ca1) + abs(ca2)) * blift
        + (abs(ab1) + abs(ab2)) * clift
    )
    bound = tolerance * permanent
    return _sign_beyond(det, bound)


@_compiled
def _pseudo_angle(dx: float, dy: float) -> float:
    """A monotone function of the angle of (dx, dy), in [0, 1)."""
    s = abs(dx) + abs(dy)
    if s == 0.0:
        return 0.0
    p = dx / s
    q = (3.0 - p) if dy > 0.0 else (1.0 + p)
    return (q / 4.0) % 1.0


@_compiled
def _next(e: int) -> int:
    """The halfedge after e in its triangle."""
    return e - e % 3 + (e + 1) % 3


@_compiled
def _prev(e: int) -> int:
    """The halfedge before e in its triangle."""
    return e - e % 3 + (e + 2) % 3


@_compiled
def _link(half: np.ndarray, a: int, b: int) -> None:
    """Make halfedges a and b twins (b = -1: a is on the hull)."""
    half[a] = b
    if b >= 0:
        half[b] = a


@_compiled
def _seed(x: np.ndarray, y: np.ndarray) -> tuple[int, int, int]:
    """Three points of a small, certainly counter-clockwise first triangle (i2 = -1 when none)."""
    n = x.size
    mx = 0.5 * (x.min() + x.max())
    my = 0.5 * (y.min() + y.max())
    i0, best = 0, np.inf
    for k in range(n):
        d = (x[k] - mx) ** 2 + (y[k] - my) ** 2
        if d < best:
            i0, best = k, d
    i1, best = -1, np.inf
    for k in range(n):
        d = (x[k] - x[i0]) ** 2 + (y[k] - y[i0]) ** 2
        if 0.0 < d < best:
            i1, best = k, d
    if i1 < 0:
        return i0, -1, -1
    i2, best = -1, np.inf
    for k in range(n):
        if _orient(x[i0], y[i0], x[i1], y[i1], x[k], y[k]) == 0:
            continue
        r = _circumradius2(x[i0], y[i0], x[i1], y[i1], x[k], y[k])
        if r < best:
            i2, best = k, r
    if i2 >= 0 and _orient(x[i0], y[i0], x[i1], y[i1], x[i2], y[i2]) < 0:
        i1, i2 = i2, i1
    return i0, i1, i2


@_compiled
def _circumradius2(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    """Squared circumradius of triangle a, b, c (inf when degenerate)."""
    ox, oy = _circumcentre(ax, ay, bx, by, cx, cy)
    return (ox - ax) ** 2 + (oy - ay) ** 2


@_compiled
def _circumcentre(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float
) -> tuple[float, float]:
    """Circumcentre of triangle a, b, c (inf when degenerate)."""
    abx, aby, acx, acy = bx - ax, by - ay, cx - ax, cy - ay
    d = 2.0 * (abx * acy - aby * acx)
    if d == 0.0:
        return np.inf, np.inf
    ab2, ac2 = abx * abx + aby * aby, acx * acx + acy * acy
    return ax + (acy * ab2 - aby * ac2) / d, ay + (abx * ac2 - acx * ab2) / d


@_compiled
def _is_duplicate(
    x: np.ndarray, y: np.ndarray, order: np.ndarray, dist: np.ndarray, pos: int, kept: np.ndarray
) -> bool:
    """Whether point order[pos] equals a kept point (equal points have equal distances, so they are
    neighbours in the sorted order)."""
    i = order[pos]
    for step in (-1, 1):
        j = pos + step
        while 0 <= j < order.size and dist[order[j]] == dist[i]:
            k = order[j]
            if kept[k] and x[k] == x[i] and y[k] == y[i]:
                return True
            j += step
    return False


@_compiled
def _legalise(
    x: np.ndarray,
    y: np.ndarray,
    tri: np.ndarray,
    half: np.ndarray,
    hull_tri: np.ndarray,
    stack: np.ndarray,
    top: int,
) -> bool:
    """Flip the halfedges on the stack (each opposite the new point in its triangle) and those behind
    them until locally Delaunay; False if the stack overflows."""
    while top > 0:
        top -= 1
        e = stack[top]
        f = half[e]
        if f < 0:
            continue
        en, enn, fn, fnn = _next(e), _prev(e), _next(f), _prev(f)
        a0, a1, ap, bq = tri[e], tri[en], tri[enn], tri[fnn]
        if _incircle(x, y, a0, a1, ap, bq, INCIRCLE_BOUND) <= 0:
            continue  # legal, or undecidable (then the final check sends it to Qhull if it matters)
        h_enn, h_fnn = half[enn], half[fnn]
        tri[e] = bq
        tri[f] = ap
        _link(half, e, h_fnn)
        if h_fnn < 0:
            hull_tri[bq] = e
        _link(half, f, h_enn)
        if h_enn < 0:
            hull_tri[ap] = f
        _link(half, enn, fnn)
        if top + 2 > stack.size:
            return False
        stack[top] = e
        stack[top + 1] = fn
        top += 2
    return True


@_compiled
def _sweep(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray, np.ndarray]:
    """Sweep-hull triangulation: triangle corners (3 M), halfedge twins (3 M), M, status, hull
    successor per vertex (-1 inside) and which points were kept (not duplicates)."""
    n = x.size
    cap = max(2 * n - 5, 1)
    tri = np.full(3 * cap, -1, np.int64)
    half = np.full(3 * cap, -1, np.int64)
    hull_next = np.full(n, -1, np.int64)
    kept = np.zeros(n, np.bool_)
    i0, i1, i2 = _seed(x, y)
    if i2 < 0:
        return tri, half, 0, DEGENERATE, hull_next, kept
    cx, cy = _circumcentre(x[i0], y[i0], x[i1], y[i1], x[i2], y[i2])
    dist = (x - cx) ** 2 + (y - cy) ** 2
    order = np.argsort(dist, kind="mergesort")  # stable: of equal points the first is kept
    hull_prev = np.full(n, -1, np.int64)
    hull_tri = np.full(n, -1, np.int64)
    on_hull = np.zeros(n, np.bool_)
    hash_size = max(int(np.ceil(np.sqrt(n))), 1)
    hull_hash = np.full(hash_size, -1, np.int64)
    stack = np.empty(3 * cap + 16, np.int64)

    for v, w, u in ((i0, i1, i2), (i1, i2, i0), (i2, i0, i1)):
        hull_next[v], hull_prev[v], on_hull[v], kept[v] = w, u, True, True
        hull_hash[int(_pseudo_angle(x[v] - cx, y[v] - cy) * hash_size) % hash_size] = v
    tri[0], tri[1], tri[2] = i0, i1, i2
    hull_tri[i0], hull_tri[i1], hull_tri[i2] = 0, 1, 2
    m = 1

    for pos in range(n):
        i = order[pos]
        if i == i0 or i == i1 or i == i2:
            continue
        if _is_duplicate(x, y, order, dist, pos, kept):
            continue
        px, py = x[i], y[i]
        key = int(_pseudo_angle(px - cx, py - cy) * hash_size) % hash_size
        start = -1
        for j in range(hash_size):
            s = hull_hash[(key + j) % hash_size]
            if s >= 0 and on_hull[s]:
                start = s
                break
        if start < 0:
            return tri, half, m, FAIL, hull_next, kept
        # a hull edge a -> hull_next[a] that p certainly sees (p to its right)
        a = hull_prev[start]
        first = a
        while _orient(x[a], y[a], x[hull_next[a]], y[hull_next[a]], px, py) >= 0:
            a = hull_next[a]
            if a == first:
                return tri, half, m, FAIL, hull_next, kept  # p not outside the hull
        steps = 0
        while _orient(x[hull_prev[a]], y[hull_prev[a]], x[a], y[a], px, py) < 0:
            a = hull_prev[a]
            steps += 1
            if steps > n:
                return tri, half, m, FAIL, hull_next, kept
        # fan of triangles (u, p, w) over the visible chain a -> ... -> b
        u, t_first, t_prev, top = a, -1, -1, 0
        while True:
            w = hull_next[u]
            if _orient(x[u], y[u], x[w], y[w], px, py) >= 0:
                break
            if m >= cap or w == a:
                return tri, half, m, FAIL, hull_next, kept
            t = m
            m += 1
            tri[3 * t], tri[3 * t + 1], tri[3 * t + 2] = u, i, w
            _link(half, 3 * t + 2, hull_tri[u])
            if t_prev >= 0:
                _link(half, 3 * t_prev + 1, 3 * t)
                on_hull[u] = False
            else:
                t_first = t
            stack[top] = 3 * t + 2
            top += 1
            t_prev = t
            u = w
        b = u
        hull_next[a], hull_prev[i], hull_next[i], hull_prev[b] = i, a, b, i
        on_hull[i], kept[i] = True, True
        hull_tri[a], hull_tri[i] = 3 * t_first, 3 * t_prev + 1
        hull_hash[key] = i
        hull_hash[int(_pseudo_angle(x[a] - cx, y[a] - cy) * hash_size) % hash_size] = a
        if not _legalise(x, y, tri, half, hull_tri, stack, top):
            return tri, half, m, FAIL, hull_next, kept
    for v in range(n):
        if not on_hull[v]:
            hull_next[v] = -1
    return tri, half, m, OK, hull_next, kept


@_compiled
def _certified(
    x: np.ndarray,
    y: np.ndarray,
    tri: np.ndarray,
    half: np.ndarray,
    m: int,
    hull_next: np.ndarray,
    kept: np.ndarray,
) -> bool:
    """Whether the triangulation is certainly the Delaunay triangulation of the kept points (see
    module doc)."""
    n_kept = 0
    used = np.zeros(x.size, np.bool_)
    for k in range(3 * m):
        used[tri[k]] = True
    for v in range(x.size):
        if kept[v]:
            n_kept += 1
            if not used[v]:
                return False
    start = -1
    for v in range(x.size):
        if hull_next[v] >= 0:
            start = v
            break
    if start < 0:
        return False
    h, v, turning = 0, start, 0.0
    while True:
        w = hull_next[v]
        z = hull_next[w]
        if w < 0 or z < 0:
            return False
        turn = _orient_filtered(x[v], y[v], x[w], y[w], x[z], y[z], QHULL_MARGIN)
        if turn < 0 or (turn == 0 and _orient_exact(x[v], y[v], x[w], y[w], x[z], y[z]) != 0):
            return False  # reflex, or nearly but not exactly straight: Qhull decides
        e1x, e1y, e2x, e2y = x[w] - x[v], y[w] - y[v], x[z] - x[w], y[z] - y[w]
        turning += np.arctan2(e1x * e2y - e1y * e2x, e1x * e2x + e1y * e2y)
        h += 1
        v = w
        if v == start or h > x.size:
            break
    if v != start or abs(turning - 2.0 * np.pi) > 1.0 or m != 2 * n_kept - 2 - h:
        return False
    open_edges = 0
    for t in range(m):
        a, b, c = tri[3 * t], tri[3 * t + 1], tri[3 * t + 2]
        if _orient_filtered(x[a], y[a], x[b], y[b], x[c], y[c], QHULL_MARGIN) <= 0:
            return False
    for e in range(3 * m):
        f = half[e]
        if f < 0:
            open_edges += 1
            if hull_next[tri[e]] != tri[_next(e)]:
                return False
            continue
        if half[f] != e or tri[f] != tri[_next(e)] or tri[_next(f)] != tri[e]:
            return False
        d = tri[_prev(f)]
        if e < f and _incircle(x, y, tri[e], tri[_next(e)], tri[_prev(e)], d, QHULL_MARGIN) >= 0:
            return False
    return open_edges == h


@_compiled
def _triangulate(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Triangles (M, 3), neighbours (M, 3) and the status (OK, FAIL or DEGENERATE)."""
    tri, half, m, status, hull_next, kept = _sweep(x, y)
    simplices = np.empty((m, 3), np.int64)
    neighbors = np.empty((m, 3), np.int64)
    if status == OK and not _certified(x, y, tri, half, m, hull_next, kept):
        status = FAIL
    if status != OK:
        return simplices[:0], neighbors[:0], status
    for t in range(m):
        for k in range(3):
            simplices[t, k] = tri[3 * t + k]
            f = half[3 * t + (k + 1) % 3]  # the side opposite corner k
            neighbors[t, k] = f // 3 if f >= 0 else -1
    return simplices, neighbors, OK


def _qhull(points: np.ndarray) -> Triangulation:
    """scipy's Qhull triangulation, made counter-clockwise; empty when Qhull cannot triangulate."""
    try:
        qhull = Delaunay(points)
    except (QhullError, ValueError):
        empty = np.empty((0, 3), np.int64)
        return Triangulation(empty, empty.copy())
    simplices = qhull.simplices.astype(np.int64)
    neighbors = qhull.neighbors.astype(np.int64)
    p = points[simplices]
    area2 = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    flip = area2 < 0
    simplices[flip] = simplices[flip][:, [0, 2, 1]]
    neighbors[flip] = neighbors[flip][:, [0, 2, 1]]
    return Triangulation(simplices, neighbors)


def delaunay(points: np.ndarray) -> Triangulation:
    """Delaunay triangulation of points (n, 2) (x, y in px): triangles counter-clockwise and their
    neighbours, as scipy's ``Delaunay(points).simplices`` / ``.neighbors``.

    The compiled sweep-hull when its result is certified, otherwise Qhull (see module doc). Exact
    duplicates appear in no triangle. Fewer than 3 distinct points, all points collinear, or
    coordinates that are not finite: empty (0, 3) arrays (Qhull would raise)."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {pts.shape}")
    if pts.shape[0] < 3 or not np.isfinite(pts).all():
        empty = np.empty((0, 3), np.int64)
        return Triangulation(empty, empty.copy())
    x = np.ascontiguousarray(pts[:, 0])
    y = np.ascontiguousarray(pts[:, 1])
    simplices, neighbors, status = _triangulate(x, y)
    if status != OK:
        return _qhull(pts)
    return Triangulation(simplices, neighbors)


def warm_up() -> None:
    """Compile (or load from the cache) the triangulation now rather than on the first frame."""
    delaunay(np.array([[0.0, 0.0], [1.0, 0.1], [0.2, 1.0], [1.1, 1.2], [0.5, 0.4]]))
