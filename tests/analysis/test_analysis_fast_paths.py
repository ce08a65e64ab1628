"""The vectorised shortcuts behind frame_metrics' speed agree with the straightforward computations."""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.analysis.agglomerates import _component_ids, _roots
from nanolive.analysis.binning import bin_index
from nanolive.analysis.pointpattern import Window, besag_l, pair_correlation, weighted_pairs
from nanolive.analysis.sizes import size_histogram, size_statistics
from nanolive.analysis.tessellation import _bond_order
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, cKDTree


def test_bin_index_equals_searchsorted() -> None:
    rng = np.random.default_rng(3)
    edges = np.arange(0.0, 2.0 + 1e-9, 0.1) * 17.3
    values = np.r_[rng.uniform(0, edges[-1], 5000), edges[:-1], np.nextafter(edges[1:-1], 0)]
    assert np.array_equal(bin_index(values, edges), np.searchsorted(edges, values, "right") - 1)
    log_edges = 10.0 ** (np.arange(-10, 41) / 10)
    values = np.r_[10 ** rng.uniform(-1, 4, 5000), log_edges[:-1]]
    expected = np.searchsorted(log_edges, values, "right") - 1
    assert np.array_equal(bin_index(values, log_edges, log=True), expected)
    uneven = np.array([0.0, 0.5, 0.6, 4.0, 10.0])  # far from even: the fallback search decides
    values = rng.uniform(0, 9.99, 1000)
    assert np.array_equal(bin_index(values, uneven), np.searchsorted(uneven, values, "right") - 1)


def test_size_statistics_and_histogram_equal_numpy_bit_for_bit() -> None:
    rng = np.random.default_rng(4)
    for n in (1, 2, 3, 10, 999):
        d = rng.lognormal(1.5, 0.4, n)
        s = size_statistics(d, "nm")
        assert s["diameter_equivalent_mean_nm"] == float(np.mean(d))
        for q, key in ((10, "d10"), (50, "d50"), (90, "d90")):
            assert s[f"diameter_equivalent_{key}_nm"] == float(np.percentile(d, q))
        if n > 1:
            assert s["diameter_equivalent_std_nm"] == float(np.std(d, ddof=1))
        edges = 10.0 ** (np.arange(-10, 41) / 10)
        clipped = np.clip(d, edges[0], np.nextafter(edges[-1], 0.0))
        assert size_histogram(d, "nm") == np.histogram(clipped, bins=edges)[0].tolist()


def test_union_find_components_equal_scipy() -> None:
    rng = np.random.default_rng(5)
    for n, m in ((1, 0), (10, 3), (200, 150), (500, 2000)):
        links = rng.integers(0, n, (m, 2))
        graph = coo_matrix((np.ones(m), (links[:, 0], links[:, 1])), shape=(n, n))
        expected = connected_components(graph, directed=False)[1]
        assert np.array_equal(_component_ids(_roots(n, links)), expected)
    chain = np.column_stack([np.arange(999, 0, -1), np.arange(998, -1, -1)])  # a long path
    assert np.all(_roots(1000, chain) == 0)


def test_ripley_and_pair_correlation_equal_direct_sums() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.uniform(-0.5, 299.5, 300), rng.uniform(-0.5, 199.5, 300)
    window = Window(200, 300)
    pairs = weighted_pairs(cKDTree(np.column_stack([x, y])), x, y, window, 40.0)
    radii = np.array([20.0, 5.0, 40.0, 12.5])
    factor = window.area / (300 * 299)
    direct = [np.sqrt(factor * pairs.weight[pairs.distance <= r].sum() / np.pi) for r in radii]
    assert besag_l(pairs, 300, window, radii) == pytest.approx(direct, rel=1e-12)
    edges = np.arange(0.0, 40.0 + 1e-9, 4.0)
    sums = np.histogram(pairs.distance, bins=edges, weights=pairs.weight)[0]
    expected = factor * sums / (np.pi * (edges[1:] ** 2 - edges[:-1] ** 2))
    assert pair_correlation(pairs, 300, window, edges) == pytest.approx(expected, rel=1e-12)


def test_bond_order_equals_direct_computation() -> None:
    rng = np.random.default_rng(7)
    pts = rng.uniform(0, 100, (150, 2))
    tri = Delaunay(pts)
    neighbours: list[set[int]] = [set() for _ in range(150)]
    for a, b, c in tri.simplices:
        neighbours[a] |= {b, c}
        neighbours[b] |= {a, c}
        neighbours[c] |= {a, b}
    on_hull = np.zeros(150, dtype=bool)
    on_hull[tri.convex_hull.ravel()] = True
    for k in (6, 4):
        psi = [
            abs(np.mean([np.exp(1j * k * np.arctan2(*(pts[j] - pts[i])[::-1])) for j in nb]))
            for i, nb in enumerate(neighbours)
        ]
        expected = float(np.mean(np.array(psi)[~on_hull]))
        got = _bond_order(pts, tri, ~on_hull)[f"bond_order_psi{k}_mean"]
        assert got == pytest.approx(expected, rel=1e-12)


def test_pairs_on_the_last_annulus_edge_fall_in_the_last_bin() -> None:
    # a square lattice of pitch 20 px: many pairs at exactly 40 px, the last edge (np.histogram's
    # rule: the last bin is closed); such pairs once made an extra bin and a broadcasting error
    window = Window(200, 200)
    grid = np.arange(10.0, 200.0, 20.0)
    x, y = (a.ravel() for a in np.meshgrid(grid, grid))
    pairs = weighted_pairs(cKDTree(np.column_stack([x, y])), x, y, window, 40.0)
    assert np.any(pairs.distance == 40.0)
    edges = np.arange(0.0, 40.0 + 1e-9, 4.0)
    sums = np.histogram(pairs.distance, bins=edges, weights=pairs.weight)[0]
    expected = window.area / (100 * 99) * sums / (np.pi * (edges[1:] ** 2 - edges[:-1] ** 2))
    assert pair_correlation(pairs, 100, window, edges) == pytest.approx(expected, rel=1e-12)
