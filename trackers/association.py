"""Thresholded linear assignment: link rows (tracks) to columns (detections) or leave them unlinked.

The problem solved (exactly, never "assign then drop"): choose a set of one-to-one pairs (i, j) with
finite cost that minimises  sum(cost[i, j] over pairs) + non_link_cost * (number of unpaired rows and
columns) / 2.  So a pair is only worth making when it is cheaper than leaving both its row and its
column unmatched (cost < non_link_cost), and a cheap pair is never displaced by a forced expensive one.

Method: edges that an exchange argument proves optimal (the cheapest edge of both its row and its
column, with expensive second choices; isolated pairs included) are fixed first; star-shaped
components (one row whose candidate columns have no other candidate row, or the transpose) are
decided directly (the cheapest edge is optimal); every other gated pair goes into one Jaqaman-style augmented sparse matrix
[[C, D], [B, C^T-pattern]] (D, B diagonal at non_link_cost / 2) solved with
`scipy.sparse.csgraph.min_weight_full_bipartite_matching`. `associate_dense` is the textbook padded
`linear_sum_assignment` form, kept as a reference.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

Association = tuple[np.ndarray, np.ndarray, np.ndarray]

_OFFSET = (
    1.0  # added to every augmented weight: keeps weights > 0 (a perfect matching's size is fixed)
)


def stack_columns(*columns: np.ndarray) -> np.ndarray:
    """`np.stack(columns, axis=1)` for 1-D arrays of one length, without its overhead."""
    out = np.empty((columns[0].shape[0], len(columns)), np.result_type(*columns))
    for k, column in enumerate(columns):
        out[:, k] = column
    return out


def _result(matches: np.ndarray, n_rows: int, n_cols: int) -> Association:
    """Return (matches sorted by row, unmatched rows, unmatched cols) of one-to-one pairs (K, 2)."""
    matches = matches.reshape(-1, 2).astype(np.int64, copy=False)
    col_of_row = np.full(n_rows, -1, np.int64)  # rows are unique: a scatter sorts them
    col_of_row[matches[:, 0]] = matches[:, 1]
    matched_rows = np.nonzero(col_of_row >= 0)[0]
    col_used = np.zeros(n_cols, bool)
    col_used[matches[:, 1]] = True
    pairs = stack_columns(matched_rows, col_of_row.take(matched_rows))
    return pairs, np.nonzero(col_of_row < 0)[0], np.nonzero(~col_used)[0]


def _check_threshold(non_link_cost: float) -> float:
    t = float(non_link_cost)
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"non_link_cost must be a finite number > 0, not {non_link_cost!r}")
    return t


def associate_edges(
    rows: np.ndarray,
    cols: np.ndarray,
    costs: np.ndarray,
    shape: tuple[int, int],
    non_link_cost: float,
) -> Association:
    """Solve the thresholded assignment given as a list of candidate pairs.

    rows, cols: int arrays of candidate pairs (each pair at most once); costs: their costs (finite);
    shape: (n_rows, n_cols). Pairs with cost >= non_link_cost are ignored (they can never pay off).
    Returns (matches int64 (K, 2) sorted by row, unmatched_rows, unmatched_cols).
    """
    t = _check_threshold(non_link_cost)
    n_rows, n_cols = int(shape[0]), int(shape[1])
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    cols = np.asarray(cols, dtype=np.int64).reshape(-1)
    costs = np.asarray(costs, dtype=np.float64).reshape(-1)
    if not (rows.shape == cols.shape == costs.shape):
        raise ValueError("rows, cols and costs must have the same length")
    if rows.size and (
        rows.min() < 0 or rows.max() >= n_rows or cols.min() < 0 or cols.max() >= n_cols
    ):
        raise ValueError(f"pair indices out of range for shape {shape}")
    if np.any(np.isnan(costs)):
        raise ValueError("costs contain NaN")
    return solve_edges(rows, cols, costs, (n_rows, n_cols), t)


def solve_edges(
    rows: np.ndarray,
    cols: np.ndarray,
    costs: np.ndarray,
    shape: tuple[int, int],
    non_link_cost: float,
) -> Association:
    """`associate_edges` without the input checks, for callers whose pairs are known valid: rows,
    cols int64 (E,) in range and unique as pairs, costs float64 (E,) without NaN, non_link_cost a
    finite number > 0."""
    t = float(non_link_cost)
    n_rows, n_cols = int(shape[0]), int(shape[1])
    rows, cols, costs = _select(np.flatnonzero(costs < t), rows, cols, costs)
    if rows.size == 0:
        return _result(np.zeros((0, 2), np.int64), n_rows, n_cols)
    fixed, keep = _dominant_matches(rows, cols, costs, t, n_rows, n_cols)
    rows, cols, costs = _select(np.flatnonzero(keep), rows, cols, costs)
    row_deg = np.bincount(rows, minlength=n_rows)
    col_deg = np.bincount(cols, minlength=n_cols)
    direct, rest = _star_matches(rows, cols, costs, row_deg, col_deg)
    if not np.any(rest):
        return _result(np.concatenate([fixed, direct]), n_rows, n_cols)
    solved = _solve_augmented(*_select(np.flatnonzero(rest), rows, cols, costs), t)
    return _result(np.concatenate([fixed, direct, solved]), n_rows, n_cols)


def _select(index: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return each 1-D array at the positions `index` (one `take` each: cheaper than a boolean mask
    applied to several arrays, which searches the mask again every time)."""
    return tuple(a.take(index) for a in arrays)


def _best_two(key: np.ndarray, costs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per key value: index of its cheapest edge (-1 if none) and the second-lowest cost (inf)."""
    e = np.arange(key.size)
    low = np.full(n, np.inf)
    np.minimum.at(low, key, costs)
    best = np.full(n, key.size, np.int64)
    np.minimum.at(best, key, np.where(costs == low[key], e, key.size))  # first of ties
    best[best == key.size] = -1
    second = np.full(n, np.inf)
    others = best[key] != e
    np.minimum.at(second, key[others], costs[others])
    return best, second


def _dominant_matches(
    rows: np.ndarray, cols: np.ndarray, costs: np.ndarray, t: float, n_rows: int, n_cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return edges that some optimal solution contains, and the mask of edges still undecided.

    Exchange argument: let (i, j) be the cheapest edge of row i and of column j. In a solution
    without it, i is unmatched or matched to j', j unmatched or matched to i'; replacing those
    pairs by (i, j) (freeing j' and i') changes the cost by c_ij + t - c_ij' - c_i'j when both were
    matched, and by at most c_ij - (cheapest alternative) <= 0 otherwise. So if also
    c_ij + t <= (second cheapest of row i) + (second cheapest of column j) (inf when absent), (i, j)
    can be fixed. Each row and column has one cheapest edge, so fixed edges never conflict.
    """
    e = np.arange(rows.size)
    best_r, second_r = _best_two(rows, costs, n_rows)
    best_c, second_c = _best_two(cols, costs, n_cols)
    mutual = (best_r[rows] == e) & (best_c[cols] == e)
    ok = mutual & (costs + t <= second_r[rows] + second_c[cols])
    row_fixed = np.zeros(n_rows, bool)
    col_fixed = np.zeros(n_cols, bool)
    row_fixed[rows[ok]] = True
    col_fixed[cols[ok]] = True
    keep = ~(row_fixed[rows] | col_fixed[cols])
    return stack_columns(rows[ok], cols[ok]), keep


def _star_matches(
    rows: np.ndarray,
    cols: np.ndarray,
    costs: np.ndarray,
    row_deg: np.ndarray,
    col_deg: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve star-shaped components exactly: one row whose candidate columns have no other row (or the
    transpose); every candidate is below the threshold, so the cheapest edge is the optimum.
    Returns (pairs (K, 2), mask of the edges left for the general solver)."""
    leaf_col = col_deg[cols] == 1
    leaf_row = row_deg[rows] == 1
    row_star = np.bincount(rows, weights=leaf_col, minlength=row_deg.size) == row_deg
    col_star = np.bincount(cols, weights=leaf_row, minlength=col_deg.size) == col_deg
    by_row = row_star[rows]
    by_col = col_star[cols] & ~by_row
    pairs = [_cheapest_per_key(rows[by_row], cols[by_row], costs[by_row], rows[by_row])]
    pairs.append(_cheapest_per_key(rows[by_col], cols[by_col], costs[by_col], cols[by_col]))
    return np.concatenate(pairs), ~(by_row | by_col)


def _cheapest_per_key(
    rows: np.ndarray, cols: np.ndarray, costs: np.ndarray, key: np.ndarray
) -> np.ndarray:
    """Return the (row, col) pair of least cost for every distinct key."""
    if key.size == 0:
        return np.zeros((0, 2), np.int64)
    order = np.lexsort((costs, key))
    first = np.ones(order.size, bool)
    first[1:] = key[order][1:] != key[order][:-1]
    pick = order[first]
    return stack_columns(rows[pick], cols[pick])


_DENSE_MAX = (
    48  # sub-problems with at most this many rows + columns are solved dense (less overhead)
)


def _compress(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_inverse=True)` for non-negative ints, via a lookup table."""
    present = np.zeros(int(values.max()) + 1, bool)
    present[values] = True
    ids = np.nonzero(present)[0]
    lookup = np.empty(present.size, np.int64)
    lookup[ids] = np.arange(ids.size)
    return ids, lookup[values]


def _solve_augmented(rows: np.ndarray, cols: np.ndarray, costs: np.ndarray, t: float) -> np.ndarray:
    """Return the optimal pairs of a (connected-ish) sub-problem via the augmented sparse matrix."""
    row_ids, r = _compress(rows)
    col_ids, c = _compress(cols)
    k, m = row_ids.size, col_ids.size
    if k + m <= _DENSE_MAX:
        block = np.full((k, m), np.inf)
        block[r, c] = costs
        pairs = _dense_pairs(block, t)
        return stack_columns(row_ids[pairs[:, 0]], col_ids[pairs[:, 1]])
    half = t / 2.0 + _OFFSET
    # rows 0..k-1: edges of track r + its "unmatched" dummy (column m + r);
    # rows k..k+m-1: detection c's "unmatched" dummy (column c) + transposed edges (column m + r)
    aug_rows = np.concatenate([r, np.arange(k), k + np.arange(m), k + c])
    aug_cols = np.concatenate([c, m + np.arange(k), np.arange(m), m + r])
    weights = np.concatenate(
        [costs + _OFFSET, np.full(k, half), np.full(m, half), np.full(c.size, _OFFSET)]
    )
    order = np.argsort(aug_rows, kind="stable")
    indptr = np.zeros(k + m + 1, np.int64)
    np.cumsum(np.bincount(aug_rows, minlength=k + m), out=indptr[1:])
    graph = sp.csr_matrix((weights[order], aug_cols[order], indptr), shape=(k + m, m + k))
    aug_r, aug_c = min_weight_full_bipartite_matching(graph)
    hit = (aug_r < k) & (aug_c < m)
    return stack_columns(row_ids[aug_r[hit]], col_ids[aug_c[hit]])


def associate(cost: np.ndarray | sp.spmatrix | sp.sparray, non_link_cost: float) -> Association:
    """Solve the thresholded linear assignment problem for a cost matrix (rows = tracks, cols = detections).

    cost: dense (n, m) array, where inf (or any value >= non_link_cost) forbids a pair, or a scipy sparse
    matrix whose *stored* entries are the allowed pairs (explicit zeros included).
    non_link_cost: leaving one row and one column unmatched costs this much (each costs half).
    Returns (matches int64 (K, 2) of (row, col) sorted by row, unmatched_rows, unmatched_cols).
    """
    if sp.issparse(cost):
        coo = sp.coo_matrix(cost)
        coo.sum_duplicates()
        return associate_edges(coo.row, coo.col, coo.data, coo.shape, non_link_cost)
    dense = np.asarray(cost, dtype=np.float64)
    if dense.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, got shape {dense.shape}")
    if np.any(np.isnan(dense)):
        raise ValueError("cost contains NaN; use inf to forbid a pair")
    rows, cols = np.nonzero(np.isfinite(dense))
    return associate_edges(rows, cols, dense[rows, cols], dense.shape, non_link_cost)


def associate_dense(cost: np.ndarray, non_link_cost: float) -> Association:
    """Reference solver: `linear_sum_assignment` on the (n+m) x (m+n) matrix padded at non_link_cost / 2.

    Same contract as `associate` for dense input; O((n+m)^3), meant for tests and small problems.
    """
    t = _check_threshold(non_link_cost)
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, got shape {c.shape}")
    return _result(_dense_pairs(c, t), c.shape[0], c.shape[1])


def _dense_pairs(c: np.ndarray, t: float) -> np.ndarray:
    """The matched (row, col) pairs of `associate_dense` (unsorted) for a float64 matrix c."""
    n, m = c.shape
    big = 2.0 * t * (n + m + 1) + 1.0  # larger than any solution using only dummy pairs
    padded = np.full((n + m, m + n), t / 2.0)
    block = np.where(np.isfinite(c) & (c < t), c, big)
    padded[:n, :m] = block
    padded[n:, m:] = 0.0
    r, k = linear_sum_assignment(padded)
    pick = (r < n) & (k < m)
    pairs = stack_columns(r[pick], k[pick])
    return pairs[block[pairs[:, 0], pairs[:, 1]] < big]
