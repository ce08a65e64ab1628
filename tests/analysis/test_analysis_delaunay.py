"""The compiled Delaunay triangulation (analysis/delaunay.py) against scipy's Qhull."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest
from nanolive.analysis import delaunay as dl
from nanolive.analysis import tessellation
from nanolive.analysis.delaunay import delaunay, warm_up
from nanolive.analysis.pointpattern import Window
from scipy.spatial import Delaunay


def triangle_set(simplices: np.ndarray) -> set[tuple[int, ...]]:
    """Triangles as sorted index triples."""
    return {tuple(t) for t in np.sort(simplices, axis=1).tolist()}


def signed_area2(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """Twice the signed area of every triangle (> 0 counter-clockwise in x, y)."""
    a, b, c = (points[simplices[:, k]] for k in range(3))
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def fast_status(points: np.ndarray) -> int:
    """Status of the compiled path alone (0: certified result, no Qhull)."""
    return dl._triangulate(np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1]))[
        2
    ]


def check_neighbors(simplices: np.ndarray, neighbors: np.ndarray) -> None:
    """neighbors[t, k] shares the side opposite corner k of t, or is -1 on the hull (each side once)."""
    sides: dict[tuple[int, int], list[int]] = {}
    for t, tri in enumerate(simplices.tolist()):
        for k in range(3):
            side = tuple(sorted((tri[(k + 1) % 3], tri[(k + 2) % 3])))
            sides.setdefault(side, []).append(t)
    for t, tri in enumerate(simplices.tolist()):
        for k in range(3):
            side = tuple(sorted((tri[(k + 1) % 3], tri[(k + 2) % 3])))
            others = [s for s in sides[side] if s != t]
            assert len(sides[side]) <= 2
            assert neighbors[t, k] == (others[0] if others else -1)


def uniform(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.0, 512.0, (n, 2))


def clustered(n: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.uniform(0.0, 512.0, (max(n // 25, 1), 2))
    return centres[rng.integers(0, len(centres), n)] + rng.normal(0.0, 4.0, (n, 2))


def jittered_lattice(n: int, rng: np.random.Generator) -> np.ndarray:
    side = int(np.ceil(np.sqrt(n)))
    cells = np.stack(np.divmod(np.arange(n), side), axis=1).astype(float)
    return (cells + 0.5) * 12.0 + rng.uniform(-1.8, 1.8, (n, 2))


@pytest.mark.parametrize("make", [uniform, clustered, jittered_lattice])
@pytest.mark.parametrize("n", [3, 4, 5, 7, 10, 31, 100, 257, 1000, 5000])
def test_same_triangles_as_qhull_in_general_position(make, n: int) -> None:
    rng = np.random.default_rng(n * 7 + len(make.__name__))
    for _ in range(3 if n <= 1000 else 1):
        pts = make(n, rng)
        assert fast_status(pts) == dl.OK  # the compiled path itself is under test, not the fallback
        ours = delaunay(pts)
        assert triangle_set(ours.simplices) == triangle_set(Delaunay(pts).simplices)
        assert (signed_area2(pts, ours.simplices) > 0).all()
        assert ours.simplices.dtype.kind == "i" and ours.simplices.shape[1] == 3
        if n <= 1000:
            check_neighbors(ours.simplices, ours.neighbors)


def test_pixel_quantised_centroids_agree_with_qhull() -> None:
    """Centroids of small particles are multiples of 1 / area: ties in distance, collinear and
    cocircular quadruples occur. Certified results equal Qhull's; the others are Qhull's."""
    rng = np.random.default_rng(5)
    certified = 0
    for _ in range(40):
        n = int(rng.integers(20, 800))
        area = rng.integers(1, 5, n)
        pts = np.round(rng.uniform(0.0, 200.0, (n, 2)) * area[:, None]) / area[:, None]
        pts = np.unique(pts, axis=0)
        ours = delaunay(pts)
        assert triangle_set(ours.simplices) == triangle_set(Delaunay(pts).simplices) or (
            fast_status(pts) != dl.OK
        )
        certified += fast_status(pts) == dl.OK
        assert (signed_area2(pts, ours.simplices) > 0).all()
    assert certified > 0


def test_duplicates_are_left_out_and_the_rest_is_qhulls() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0.0, 100.0, (300, 2))
    pts = np.concatenate([base, base[:40], base[100:110]])  # 50 exact duplicates
    order = rng.permutation(len(pts))
    pts = pts[order]
    ours = delaunay(pts)
    assert fast_status(pts) == dl.OK
    used = np.unique(ours.simplices)
    assert used.size == 300  # one of each pair of equal points
    first = {}
    for i, p in enumerate(map(tuple, pts.tolist())):
        first.setdefault(p, i)
    assert all(first[tuple(pts[i])] == i for i in used)  # the lowest index is kept
    # the same triangles as Qhull up to which copy of a duplicate is named
    canon = np.array([first[tuple(p)] for p in pts.tolist()])
    assert triangle_set(canon[ours.simplices]) == triangle_set(canon[Delaunay(pts).simplices])


@pytest.mark.parametrize(
    "pts",
    [
        np.empty((0, 2)),
        np.array([[1.0, 2.0]]),
        np.array([[1.0, 2.0], [3.0, 4.0]]),
        np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]),
        np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.5, 3.5], [-1.0, -1.0]]),
        np.array([[5.0, 5.0]] * 6),
        np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0]]),
        np.array([[0.0, 0.0], [1.0, 0.0], [np.nan, 1.0]]),
    ],
    ids=["none", "one", "two", "three-collinear", "collinear", "identical", "two-distinct", "nan"],
)
def test_degenerate_input_gives_an_empty_triangulation(pts: np.ndarray) -> None:
    tri = delaunay(pts)
    assert tri.simplices.shape == (0, 3) and tri.neighbors.shape == (0, 3)


def test_three_points_and_a_duplicate() -> None:
    pts = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0], [4.0, 0.0]])
    tri = delaunay(pts)
    assert tri.simplices.tolist() in ([[0, 1, 2]], [[1, 2, 0]], [[2, 0, 1]])
    assert tri.neighbors.tolist() == [[-1, -1, -1]]


def test_bad_shape_is_rejected() -> None:
    with pytest.raises(ValueError):
        delaunay(np.zeros((5, 3)))


def lattice(kind: str) -> np.ndarray:
    i, j = np.meshgrid(np.arange(20.0), np.arange(20.0))
    if kind == "square":
        return np.column_stack([i.ravel() * 10 + 3, j.ravel() * 10 + 3])
    return np.column_stack(
        [(i + 0.5 * (j % 2)).ravel() * 10 + 3, j.ravel() * 10 * np.sqrt(3) / 2 + 3]
    )


def qhull_tessellation(x: np.ndarray, y: np.ndarray, window: Window) -> dict:
    """tessellation_metrics with scipy's Qhull, as before the compiled triangulation."""
    original = tessellation.delaunay
    tessellation.delaunay = dl._qhull
    try:
        return tessellation.tessellation_metrics(x, y, window)
    finally:
        tessellation.delaunay = original


def assert_same_metrics(ours: dict, qhull: dict) -> None:
    """Equal counts; equal values up to summation order (triangles listed in another order)."""
    assert ours.keys() == qhull.keys()
    for key, value in ours.items():
        assert value == pytest.approx(qhull[key], rel=1e-12, abs=1e-12, nan_ok=True), key


@pytest.mark.parametrize("kind", ["square", "hexagonal"])
def test_cocircular_lattices_give_qhulls_metrics(kind: str) -> None:
    """A perfect square lattice is all cocircular: the compiled path cannot certify it and Qhull's
    triangulation (and so its metrics) is used; the hexagonal one is certified."""
    pts = lattice(kind)
    window = Window(rows=200, cols=200)
    if kind == "square":
        assert fast_status(pts) == dl.FAIL
    ours = tessellation.tessellation_metrics(pts[:, 0], pts[:, 1], window)
    assert_same_metrics(ours, qhull_tessellation(pts[:, 0], pts[:, 1], window))
    if kind == "hexagonal":
        assert ours["bond_order_psi6_mean"] > 0.99


def test_points_on_a_circle_fall_back_or_agree() -> None:
    angle = np.linspace(0.0, 2.0 * np.pi, 64, endpoint=False)
    pts = np.column_stack([np.cos(angle), np.sin(angle)]) * 100.0 + 250.0
    pts = np.concatenate([pts, [[250.0, 250.0]]])
    ours = delaunay(pts)
    qhull = Delaunay(pts)
    assert (signed_area2(pts, ours.simplices) > 0).all()
    assert len(ours.simplices) == len(qhull.simplices)
    if fast_status(pts) == dl.OK:
        assert triangle_set(ours.simplices) == triangle_set(qhull.simplices)


def test_metrics_equal_qhulls_on_random_frames() -> None:
    rng = np.random.default_rng(11)
    window = Window(rows=512, cols=512)
    for make in (uniform, clustered, jittered_lattice):
        pts = make(1000, rng)
        ours = tessellation.tessellation_metrics(pts[:, 0], pts[:, 1], window)
        assert fast_status(pts) == dl.OK
        assert_same_metrics(ours, qhull_tessellation(pts[:, 0], pts[:, 1], window))


def test_collinear_points_on_the_hull_are_certified() -> None:
    """Clipping puts many points exactly on the hull's sides (and some on one point): exact
    orientation keeps them as hull vertices, as Qhull does."""
    pts = np.clip(clustered(1000, np.random.default_rng(3)), 0.0, 511.0)
    window = Window(rows=512, cols=512)
    assert fast_status(pts) == dl.OK
    assert triangle_set(delaunay(pts).simplices) == triangle_set(Delaunay(pts).simplices)
    ours = tessellation.tessellation_metrics(pts[:, 0], pts[:, 1], window)
    assert_same_metrics(ours, qhull_tessellation(pts[:, 0], pts[:, 1], window))


def test_exact_orientation_against_rational_arithmetic() -> None:
    rng = np.random.default_rng(4)
    signs = set()
    for _ in range(3000):
        a = rng.uniform(0.0, 1000.0, 2)
        b = rng.uniform(0.0, 1000.0, 2)
        t = rng.uniform(-2.0, 3.0)
        c = a + t * (b - a)  # on the line through a and b up to rounding
        if rng.random() < 0.2:  # exactly collinear
            a, b = np.round(a), np.round(b)
            c = a + rng.integers(-3, 4) * (b - a)
        fa, fb, fc = (tuple(map(Fraction, p)) for p in (a, b, c))
        det = (fb[0] - fa[0]) * (fc[1] - fa[1]) - (fb[1] - fa[1]) * (fc[0] - fa[0])
        want = (det > 0) - (det < 0)
        signs.add(want)
        assert dl._orient(a[0], a[1], b[0], b[1], c[0], c[1]) == want
        assert dl._orient_exact(a[0], a[1], b[0], b[1], c[0], c[1]) == want
    assert signs == {-1, 0, 1}


@pytest.mark.slow  # compiles in a fresh process: 5-20 s
def test_warm_up_without_a_writable_cache(tmp_path) -> None:
    """No writable cache location at all (numba then refuses ``cache=True`` when the module is
    imported): the module compiles in memory instead, with one warning, and the results are right."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "numba").write_text("a file where numba wants a directory")
    script = textwrap.dedent(
        """
        import numpy as np
        from scipy.spatial import Delaunay
        from nanolive.analysis.delaunay import delaunay, warm_up
        warm_up()
        pts = np.random.default_rng(0).uniform(0, 100, (200, 2))
        ours = {tuple(t) for t in np.sort(delaunay(pts).simplices, axis=1).tolist()}
        assert ours == {tuple(t) for t in np.sort(Delaunay(pts).simplices, axis=1).tolist()}
        print("ok")
        """
    )
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(cache / "numba" / "sub"),  # cannot be created
        NUMBA_CACHE_LOCATOR_CLASSES="UserProvidedCacheLocator",  # the only place numba may look
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert done.stderr.count("no writable cache directory") == 1


def test_warm_up_runs() -> None:
    warm_up()
