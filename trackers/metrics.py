"""Tracking metrics on points: CLEAR-MOT (MOTA, MOTP, ID switches), identity (IDF1), HOTA, and event
(merge/split) precision and recall. Pure functions; positions in px.

Inputs are sequences with one `Points` per frame (the same number of frames for truth and prediction).
A predicted point and a true point can correspond when their distance is <= `max_distance_px`.

- CLEAR-MOT (Bernardin & Stiefelhagen 2008): per frame, correspondences of the previous frame that
  are still within the distance are kept, the rest are matched by an assignment maximising the number
  of matches, then minimising the summed distance. MOTA = 1 - (FN + FP + IDSW) / number of true points;
  an ID switch is a true object matched to a different predicted id than at its previous match.
- Identity (Ristani et al. 2016): one global one-to-one mapping of true ids to predicted ids maximising
  the number of frames they co-occur within the distance (IDTP); IDF1 = 2 IDTP / (n_true + n_pred).
- HOTA (Luiten et al. 2021) with similarity max(0, 1 - d / max_distance_px), averaged over the
  localisation thresholds alpha = 0.05 ... 0.95, following the published algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from .association import associate_edges

HOTA_ALPHAS = np.arange(0.05, 0.96, 0.05)


@dataclass(frozen=True)
class Points:
    """Objects of one frame: ids int64 (n,), xy float (n, 2) px (x = column, y = row)."""

    ids: np.ndarray
    xy: np.ndarray

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        xy = np.asarray(self.xy, dtype=np.float64).reshape(-1, 2)
        if ids.shape[0] != xy.shape[0]:
            raise ValueError(f"Points: {ids.shape[0]} ids but {xy.shape[0]} positions")
        if np.unique(ids).size != ids.size:
            raise ValueError("Points: ids must be unique within a frame")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "xy", xy)

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class ClearMot:
    """CLEAR-MOT result: mota, motp_px (mean distance of matches), counts."""

    mota: float
    motp_px: float
    false_negatives: int
    false_positives: int
    id_switches: int
    matches: int
    n_true: int
    n_pred: int


@dataclass(frozen=True)
class IdentityScores:
    """Identity result: idf1, idp (precision), idr (recall), idtp, idfp, idfn."""

    idf1: float
    idp: float
    idr: float
    idtp: int
    idfp: int
    idfn: int


@dataclass(frozen=True)
class HotaScores:
    """HOTA averaged over alphas, with DetA, AssA and LocA; per-alpha arrays alongside."""

    hota: float
    deta: float
    assa: float
    loca: float
    hota_per_alpha: np.ndarray
    alphas: np.ndarray


@dataclass(frozen=True)
class EventScores:
    """Event detection result: precision, recall, f1, and the counts."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int


def _check(truth: Sequence[Points], pred: Sequence[Points], max_distance_px: float) -> None:
    if len(truth) != len(pred):
        raise ValueError(f"truth has {len(truth)} frames, prediction {len(pred)}")
    if not max_distance_px > 0:
        raise ValueError(f"max_distance_px must be > 0, not {max_distance_px!r}")


def close_pairs(a: Points, b: Points, max_distance_px: float) -> tuple[np.ndarray, ...]:
    """Return (i, j, distance) of all pairs of a's and b's points within the distance."""
    if len(a) == 0 or len(b) == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)
    sdm = cKDTree(a.xy).sparse_distance_matrix(
        cKDTree(b.xy), max_distance_px, output_type="ndarray"
    )
    return sdm["i"].astype(np.int64), sdm["j"].astype(np.int64), sdm["v"].astype(np.float64)


def clear_mot(truth: Sequence[Points], pred: Sequence[Points], max_distance_px: float) -> ClearMot:
    """Return MOTA, MOTP and ID switches of `pred` against `truth`."""
    _check(truth, pred, max_distance_px)
    last_match: dict[int, int] = {}
    fn = fp = idsw = n_match = 0
    dist_sum = 0.0
    for gt, hy in zip(truth, pred, strict=True):
        i, j, d = close_pairs(gt, hy, max_distance_px)
        matched: list[tuple[int, int, float]] = []
        if i.size:
            prev = np.array([last_match.get(int(g), -1) for g in gt.ids[i]])
            used_i: set[int] = set()
            used_j: set[int] = set()
            for k in np.flatnonzero(prev == hy.ids[j])[np.argsort(d[prev == hy.ids[j]])]:
                a, b = int(i[k]), int(j[k])
                if a not in used_i and b not in used_j:  # previous correspondences are kept
                    used_i.add(a)
                    used_j.add(b)
                    matched.append((a, b, float(d[k])))
            free = np.array(
                [(a not in used_i) and (b not in used_j) for a, b in zip(i, j, strict=True)]
            )
            if np.any(free):
                fi, fj, fd = i[free], j[free], d[free]
                big = 2.0 * (len(gt) + len(hy) + 1) + 2.0  # > any summed distance: max matches
                m, _, _ = associate_edges(fi, fj, fd / max_distance_px, (len(gt), len(hy)), big)
                lookup = {
                    (a, b): x for a, b, x in zip(fi.tolist(), fj.tolist(), fd.tolist(), strict=True)
                }
                matched += [(a, b, lookup[(a, b)]) for a, b in m.tolist()]
        for a, b, dist in matched:
            g, h = int(gt.ids[a]), int(hy.ids[b])
            if g in last_match and last_match[g] != h:
                idsw += 1
            last_match[g] = h
            dist_sum += dist
        n_match += len(matched)
        fn += len(gt) - len(matched)
        fp += len(hy) - len(matched)
    n_true = sum(len(g) for g in truth)
    n_pred = sum(len(h) for h in pred)
    mota = 1.0 - (fn + fp + idsw) / n_true if n_true else float("nan")
    return ClearMot(
        mota=float(mota),
        motp_px=dist_sum / n_match if n_match else float("nan"),
        false_negatives=fn,
        false_positives=fp,
        id_switches=idsw,
        matches=n_match,
        n_true=n_true,
        n_pred=n_pred,
    )


def _id_index(frames: Sequence[Points]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the sorted distinct ids and, per frame, the index of each point's id in them."""
    all_ids = np.unique(np.concatenate([f.ids for f in frames])) if frames else np.zeros(0)
    return all_ids, [np.searchsorted(all_ids, f.ids) for f in frames]


def identity_scores(
    truth: Sequence[Points], pred: Sequence[Points], max_distance_px: float
) -> IdentityScores:
    """Return IDF1, IDP, IDR of `pred` against `truth`."""
    _check(truth, pred, max_distance_px)
    gt_ids, gt_idx = _id_index(truth)
    hy_ids, hy_idx = _id_index(pred)
    co = np.zeros((gt_ids.size, hy_ids.size))
    for gt, hy, gi, hi in zip(truth, pred, gt_idx, hy_idx, strict=True):
        i, j, _ = close_pairs(gt, hy, max_distance_px)
        np.add.at(co, (gi[i], hi[j]), 1.0)
    idtp = 0
    if co.size:
        r, c = linear_sum_assignment(co, maximize=True)
        idtp = int(co[r, c].sum())
    n_true = sum(len(g) for g in truth)
    n_pred = sum(len(h) for h in pred)
    denom = n_true + n_pred
    return IdentityScores(
        idf1=2 * idtp / denom if denom else float("nan"),
        idp=idtp / n_pred if n_pred else float("nan"),
        idr=idtp / n_true if n_true else float("nan"),
        idtp=idtp,
        idfp=n_pred - idtp,
        idfn=n_true - idtp,
    )


def hota(truth: Sequence[Points], pred: Sequence[Points], max_distance_px: float) -> HotaScores:
    """Return HOTA with the similarity max(0, 1 - d / max_distance_px)."""
    _check(truth, pred, max_distance_px)
    gt_ids, gt_idx = _id_index(truth)
    hy_ids, hy_idx = _id_index(pred)
    ng, nh = gt_ids.size, hy_ids.size
    sims = []
    potential = np.zeros((ng, nh))
    gt_count = np.zeros(ng)
    hy_count = np.zeros(nh)
    for gt, hy, gi, hi in zip(truth, pred, gt_idx, hy_idx, strict=True):
        i, j, d = close_pairs(gt, hy, max_distance_px)
        s = np.clip(1.0 - d / max_distance_px, 0.0, 1.0)
        sims.append((i, j, s))
        gt_count[gi] += 1
        hy_count[hi] += 1
        if i.size:
            row_sum = np.bincount(i, weights=s, minlength=len(gt))
            col_sum = np.bincount(j, weights=s, minlength=len(hy))
            iou_like = s / (row_sum[i] + col_sum[j] - s)
            np.add.at(potential, (gi[i], hi[j]), iou_like)
    with np.errstate(invalid="ignore", divide="ignore"):
        global_score = potential / (gt_count[:, None] + hy_count[None, :] - potential)
    global_score = np.nan_to_num(global_score)
    n_alpha = HOTA_ALPHAS.size
    tp = np.zeros(n_alpha)
    loc = np.zeros(n_alpha)
    match_counts = np.zeros((n_alpha, ng, nh))
    for (i, j, s), gi, hi, gt, hy in zip(sims, gt_idx, hy_idx, truth, pred, strict=True):
        if i.size == 0:
            continue
        score = np.zeros((len(gt), len(hy)))
        score[i, j] = global_score[gi[i], hi[j]] * s
        simmat = np.zeros((len(gt), len(hy)))
        simmat[i, j] = s
        r, c = linear_sum_assignment(score, maximize=True)
        for a, alpha in enumerate(HOTA_ALPHAS):
            ok = simmat[r, c] >= alpha - np.finfo(float).eps
            tp[a] += np.count_nonzero(ok)
            loc[a] += simmat[r[ok], c[ok]].sum()
            np.add.at(match_counts[a], (gi[r[ok]], hi[c[ok]]), 1.0)
    n_true = gt_count.sum()
    n_pred = hy_count.sum()
    deta = tp / np.maximum(1.0, n_true + n_pred - tp)
    assa = np.zeros(n_alpha)
    for a in range(n_alpha):
        mc = match_counts[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            ass_iou = mc / (gt_count[:, None] + hy_count[None, :] - mc)
        assa[a] = np.nansum(mc * np.nan_to_num(ass_iou)) / max(1.0, tp[a])
    hota_a = np.sqrt(deta * assa)
    loca = loc / np.maximum(1e-10, tp)
    return HotaScores(
        hota=float(hota_a.mean()),
        deta=float(deta.mean()),
        assa=float(assa.mean()),
        loca=float(loca.mean()),
        hota_per_alpha=hota_a,
        alphas=HOTA_ALPHAS.copy(),
    )


def event_scores(
    true_events: np.ndarray,
    pred_events: np.ndarray,
    max_frames: int = 2,
    max_distance_px: float = 10.0,
) -> EventScores:
    """Return precision/recall of predicted events against true ones.

    Events are arrays (n, 3) of (frame, x, y). A predicted and a true event correspond when they are
    at most `max_frames` frames and `max_distance_px` apart; the correspondence is one-to-one and
    maximises the number of matched events (then minimises the summed distance).
    """
    t = np.asarray(true_events, dtype=np.float64).reshape(-1, 3)
    p = np.asarray(pred_events, dtype=np.float64).reshape(-1, 3)
    tp = 0
    if t.shape[0] and p.shape[0]:
        dframe = np.abs(t[:, None, 0] - p[None, :, 0])
        dist = np.hypot(t[:, None, 1] - p[None, :, 1], t[:, None, 2] - p[None, :, 2])
        ok = (dframe <= max_frames) & (dist <= max_distance_px)
        i, j = np.nonzero(ok)
        cost = dist[i, j] / max_distance_px + dframe[i, j] / (max_frames + 1)
        big = 4.0 * (t.shape[0] + p.shape[0] + 1)
        tp = int(associate_edges(i, j, cost, (t.shape[0], p.shape[0]), big)[0].shape[0])
    fp = p.shape[0] - tp
    fn = t.shape[0] - tp
    precision = tp / p.shape[0] if p.shape[0] else float("nan")
    recall = tp / t.shape[0] if t.shape[0] else float("nan")
    f1 = 2 * tp / (t.shape[0] + p.shape[0]) if (t.shape[0] + p.shape[0]) else float("nan")
    return EventScores(precision, recall, f1, tp, fp, fn)
