"""Accuracy against the simulator's truth: detection F1 on centroids and tracking MOTA/IDF1 (pure).

A detection and a true particle correspond when their centroids are at most ``max_distance_px`` apart;
the correspondence is one-to-one and maximises the number of matches (then minimises total distance).
Tracking scores use nanolive.trackers.metrics (CLEAR-MOT and identity) on the same points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from nanolive.trackers.metrics import Points, clear_mot, identity_scores
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class DetectionScores:
    """Detection counts and scores summed over frames; ``rmse_px`` is over matched pairs (px)."""

    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    rmse_px: float

    def as_dict(self) -> dict[str, float]:
        """Return the scores as plain data."""
        return asdict(self)


def match_points(truth_xy: np.ndarray, pred_xy: np.ndarray, max_distance_px: float) -> np.ndarray:
    """Return matched pairs (k, 2) of (truth index, prediction index), one-to-one, within distance."""
    t = np.asarray(truth_xy, float).reshape(-1, 2)
    p = np.asarray(pred_xy, float).reshape(-1, 2)
    if not len(t) or not len(p):
        return np.zeros((0, 2), dtype=np.int64)
    pairs = cKDTree(t).sparse_distance_matrix(cKDTree(p), max_distance_px, output_type="ndarray")
    if not len(pairs):
        return np.zeros((0, 2), dtype=np.int64)
    rows, row_idx = np.unique(pairs["i"], return_inverse=True)
    cols, col_idx = np.unique(pairs["j"], return_inverse=True)
    # Cost: a large reward per match (so the number of matches is maximised) plus the distance.
    big = 1e6
    cost = np.full((rows.size, cols.size), big * 2)
    cost[row_idx, col_idx] = pairs["v"] - big
    r, c = linear_sum_assignment(cost)
    ok = cost[r, c] < 0
    return np.stack([rows[r[ok]], cols[c[ok]]], axis=1).astype(np.int64)


def detection_scores(
    truth: Sequence[np.ndarray], predicted: Sequence[np.ndarray], max_distance_px: float
) -> DetectionScores:
    """Return detection scores of per-frame predicted centroids (n, 2) against true centroids."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} truth frames but {len(predicted)} predicted frames")
    if not max_distance_px > 0:
        raise ValueError(f"max_distance_px must be > 0, not {max_distance_px}")
    tp = fp = fn = 0
    sq = 0.0
    for t, p in zip(truth, predicted, strict=True):
        t = np.asarray(t, float).reshape(-1, 2)
        p = np.asarray(p, float).reshape(-1, 2)
        m = match_points(t, p, max_distance_px)
        tp += len(m)
        fp += len(p) - len(m)
        fn += len(t) - len(m)
        if len(m):
            sq += float(((t[m[:, 0]] - p[m[:, 1]]) ** 2).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    rmse = float(np.sqrt(sq / tp)) if tp else float("nan")
    return DetectionScores(tp, fp, fn, precision, recall, f1, rmse)


def tracking_scores(
    truth: Sequence[Points], predicted: Sequence[Points], max_distance_px: float
) -> dict[str, float]:
    """Return MOTA, IDF1, ID switches and MOTP (px) of predicted tracks against true tracks."""
    mot = clear_mot(truth, predicted, max_distance_px)
    idf = identity_scores(truth, predicted, max_distance_px)
    return {
        "mota": float(mot.mota),
        "idf1": float(idf.idf1),
        "id_switches": int(mot.id_switches),
        "motp_px": float(mot.motp_px),
    }
