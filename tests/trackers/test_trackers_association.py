"""The thresholded assignment: exact optimum, never "assign then drop"."""

from itertools import permutations

import numpy as np
import pytest
import scipy.sparse as sp
from nanolive.trackers import associate, associate_dense, associate_edges
from scipy.optimize import linear_sum_assignment


def total_cost(cost: np.ndarray, matches: np.ndarray, t: float) -> float:
    n, m = cost.shape
    k = matches.shape[0]
    return float(cost[matches[:, 0], matches[:, 1]].sum() + t / 2 * (n + m - 2 * k))


def brute_force(cost: np.ndarray, t: float) -> float:
    """Minimum total cost over every partial one-to-one matching (small matrices only)."""
    n, m = cost.shape
    best = t / 2 * (n + m)
    cols = list(range(m)) + [-1] * n
    for perm in set(permutations(cols, n)):
        pairs = [(i, j) for i, j in enumerate(perm) if j >= 0]
        c = sum(cost[i, j] for i, j in pairs)
        if np.isfinite(c):
            best = min(best, c + t / 2 * (n + m - 2 * len(pairs)))
    return best


def test_assign_then_drop_is_wrong_and_associate_is_right():
    cost = np.array([[1.0, 5.0], [8.0, np.inf]])
    # plain LSA must pair everything: a-y (5) + b-x (8) = 13, both below the threshold, nothing dropped
    r, c = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
    assert {(int(a), int(b)) for a, b in zip(r, c, strict=True)} == {(0, 1), (1, 0)}
    # optimum with non-link cost 10: a-x (1) + leave b and y (10) = 11 < 13
    matches, rows, cols = associate(cost, 10.0)
    assert matches.tolist() == [[0, 0]]
    assert rows.tolist() == [1] and cols.tolist() == [1]


@pytest.mark.parametrize("seed", range(40))
def test_matches_brute_force_and_dense_reference(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(0, 5, size=2)
    cost = rng.uniform(0, 12, size=(n, m))
    cost[rng.random((n, m)) < 0.3] = np.inf
    t = 8.0
    expected = brute_force(cost, t)
    for solver in (associate, associate_dense):
        matches, rows, cols = solver(cost, t)
        assert total_cost(cost, matches, t) == pytest.approx(expected)
        assert len(set(matches[:, 0])) == len(matches)
        assert len(set(matches[:, 1])) == len(matches)
        assert sorted(list(matches[:, 0]) + list(rows)) == list(range(n))
        assert sorted(list(matches[:, 1]) + list(cols)) == list(range(m))
        assert np.all(cost[matches[:, 0], matches[:, 1]] < t)


def test_sparse_input_with_explicit_zero_and_larger_random_problem():
    cost = sp.coo_matrix(([0.0, 3.0], ([0, 1], [1, 1])), shape=(2, 3))
    matches, rows, cols = associate(cost, 4.0)
    assert matches.tolist() == [[0, 1]]
    assert rows.tolist() == [1] and cols.tolist() == [0, 2]
    rng = np.random.default_rng(7)
    dense = rng.uniform(0, 10, size=(60, 70))
    dense[rng.random(dense.shape) < 0.9] = np.inf
    a = associate(dense, 6.0)[0]
    b = associate_dense(dense, 6.0)[0]
    assert total_cost(dense, a, 6.0) == pytest.approx(total_cost(dense, b, 6.0))


def test_edges_and_empty_problems():
    matches, rows, cols = associate_edges([], [], [], (3, 0), 1.0)
    assert matches.shape == (0, 2) and rows.tolist() == [0, 1, 2] and cols.size == 0
    matches, rows, cols = associate(np.zeros((0, 4)), 1.0)
    assert matches.shape == (0, 2) and cols.tolist() == [0, 1, 2, 3]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="NaN"):
        associate(np.array([[np.nan]]), 1.0)
    with pytest.raises(ValueError, match="non_link_cost"):
        associate(np.zeros((1, 1)), 0.0)
    with pytest.raises(ValueError, match="out of range"):
        associate_edges([0], [5], [1.0], (1, 1), 2.0)


@pytest.mark.parametrize("seed", range(20))
def test_sparse_reductions_keep_the_optimum_on_clustered_problems(seed):
    """Point-tracking-like problems (cheap true pairs, some cheap rivals) vs the dense reference."""
    rng = np.random.default_rng(100 + seed)
    n = 40
    pts = rng.uniform(0, 60, size=(n, 2))
    det = pts + rng.normal(0, 1.5, size=pts.shape)
    d2 = ((pts[:, None, :] - det[None, :, :]) ** 2).sum(-1)
    cost = np.where(d2 < 30, d2, np.inf)
    a = associate(cost, 12.0)[0]
    b = associate_dense(cost, 12.0)[0]
    assert total_cost(cost, a, 12.0) == pytest.approx(total_cost(cost, b, 12.0))
