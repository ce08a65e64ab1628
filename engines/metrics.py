"""Segmentation accuracy: the seed paper's pixel metrics and instance (object) metrics (pure numpy).

Pixel metrics treat the labels as binary masks (particle vs background): MIoU (mean of the particle and
background IoU), pixel accuracy, Cohen's kappa, Dice of the particle class. Instance metrics match
predicted to true instances one-to-one by IoU (at IoU > 0.5 a match is unique, so greedy matching by
descending IoU is exact); F1 at a threshold, count error, equivalent-diameter error of matched pairs.
Box-only ground truth is scored by centres: a predicted instance matches a box when its centroid lies
inside the box (each box and prediction used once, nearest centre first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


@dataclass(frozen=True)
class PixelScores:
    """Binary (particle vs background) scores of one image or of pooled counts."""

    tp: int
    fp: int
    fn: int
    tn: int

    @staticmethod
    def of(truth: np.ndarray, pred: np.ndarray) -> PixelScores:
        """Return the confusion counts of two label (or bool) images of the same shape."""
        if truth.shape != pred.shape:
            raise ValueError(f"shape mismatch: truth {truth.shape} vs prediction {pred.shape}")
        t, p = np.asarray(truth) > 0, np.asarray(pred) > 0
        tp = int(np.count_nonzero(t & p))
        fp = int(np.count_nonzero(~t & p))
        fn = int(np.count_nonzero(t & ~p))
        return PixelScores(tp, fp, fn, t.size - tp - fp - fn)

    def __add__(self, other: PixelScores) -> PixelScores:
        return PixelScores(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @property
    def dice(self) -> float:
        """Return the Dice coefficient of the particle class (1 when both masks are empty)."""
        d = 2 * self.tp + self.fp + self.fn
        return 1.0 if d == 0 else 2 * self.tp / d

    @property
    def miou(self) -> float:
        """Return the mean of the particle IoU and the background IoU."""
        fg_d, bg_d = self.tp + self.fp + self.fn, self.tn + self.fp + self.fn
        fg = 1.0 if fg_d == 0 else self.tp / fg_d
        bg = 1.0 if bg_d == 0 else self.tn / bg_d
        return (fg + bg) / 2

    @property
    def accuracy(self) -> float:
        """Return the fraction of pixels classified correctly."""
        n = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.tn) / n if n else 1.0

    @property
    def kappa(self) -> float:
        """Return Cohen's kappa of the two binary masks (1 = perfect, 0 = chance agreement)."""
        n = self.tp + self.fp + self.fn + self.tn
        if n == 0:
            return 1.0
        po = (self.tp + self.tn) / n
        pe = (
            (self.tp + self.fp) * (self.tp + self.fn) + (self.fn + self.tn) * (self.fp + self.tn)
        ) / (n * n)
        return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def iou_matrix(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Return IoU (n_true, n_pred) between instances of two label images (labels 1..N, 0 = bg).

    Labels need not be consecutive; rows/columns follow the sorted unique non-zero labels.
    """
    t_ids, t_inv = np.unique(truth, return_inverse=True)
    p_ids, p_inv = np.unique(pred, return_inverse=True)
    nt, npr = t_ids.size, p_ids.size
    joint = np.bincount(t_inv.ravel() * npr + p_inv.ravel(), minlength=nt * npr).reshape(nt, npr)
    area_t, area_p = joint.sum(1), joint.sum(0)
    union = area_t[:, None] + area_p[None, :] - joint
    iou = np.where(union > 0, joint / np.maximum(union, 1), 0.0)
    keep_t = t_ids != 0
    keep_p = p_ids != 0
    return iou[np.ix_(keep_t, keep_p)]


def match_by_iou(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Return one-to-one (true, pred) index pairs with IoU >= threshold, greedy by descending IoU."""
    if iou.size == 0:
        return []
    ti, pi = np.nonzero(iou >= threshold)
    order = np.argsort(-iou[ti, pi], kind="stable")
    used_t, used_p, pairs = set(), set(), []
    for k in order:
        a, b = int(ti[k]), int(pi[k])
        if a not in used_t and b not in used_p:
            used_t.add(a)
            used_p.add(b)
            pairs.append((a, b))
    return pairs


@dataclass(frozen=True)
class InstanceCounts:
    """Matched counts of one image (or pooled): true positives, false positives, false negatives."""

    tp: int
    fp: int
    fn: int

    def __add__(self, other: InstanceCounts) -> InstanceCounts:
        return InstanceCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def f1(self) -> float:
        """Return 2 TP / (2 TP + FP + FN) (1 when there is nothing to find and nothing found)."""
        d = 2 * self.tp + self.fp + self.fn
        return 1.0 if d == 0 else 2 * self.tp / d


def instance_counts(iou: np.ndarray, threshold: float) -> InstanceCounts:
    """Return TP/FP/FN of the IoU matching at ``threshold``."""
    tp = len(match_by_iou(iou, threshold))
    return InstanceCounts(tp, iou.shape[1] - tp, iou.shape[0] - tp)


def equivalent_diameters_px(labels: np.ndarray) -> np.ndarray:
    """Return the equivalent-circle diameter (px) of every non-zero label, in sorted label order."""
    ids, counts = np.unique(labels, return_counts=True)
    return 2 * np.sqrt(counts[ids != 0] / math.pi)


def centroids_xy(labels: np.ndarray) -> np.ndarray:
    """Return (N, 2) centroids (x = column, y = row; px) of the non-zero labels in sorted order."""
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if ids.size == 0:
        return np.zeros((0, 2))
    cy_cx = np.asarray(ndi.center_of_mass(np.ones(labels.shape), labels, ids), dtype=np.float64)
    return cy_cx[:, ::-1].reshape(-1, 2)


def match_boxes(boxes: np.ndarray, centres_xy: np.ndarray) -> InstanceCounts:
    """Return detection counts: a prediction centre matches a box (cx, cy, w, h; px) it lies in.

    Pairs are taken nearest-centre first, each box and each prediction at most once.
    """
    nb, npred = len(boxes), len(centres_xy)
    if nb == 0 or npred == 0:
        return InstanceCounts(0, npred, nb)
    dx = np.abs(centres_xy[None, :, 0] - boxes[:, None, 0])
    dy = np.abs(centres_xy[None, :, 1] - boxes[:, None, 1])
    inside = (dx <= boxes[:, None, 2] / 2) & (dy <= boxes[:, None, 3] / 2)
    dist = np.hypot(dx, dy)
    bi, pi = np.nonzero(inside)
    order = np.argsort(dist[bi, pi], kind="stable")
    used_b, used_p = set(), set()
    for k in order:
        a, b = int(bi[k]), int(pi[k])
        if a not in used_b and b not in used_p:
            used_b.add(a)
            used_p.add(b)
    tp = len(used_b)
    return InstanceCounts(tp, npred - tp, nb - tp)


@dataclass(frozen=True)
class ImageScores:
    """Every score of one image: pixel counts, instance counts at IoU 0.5 / 0.75, counts, sizes."""

    pixel: PixelScores
    inst50: InstanceCounts
    inst75: InstanceCounts
    n_true: int
    n_pred: int
    diameter_abs_err_px: tuple[float, ...]
    diameter_rel_err: tuple[float, ...]
    visible: InstanceCounts | None = None


def score_image(
    truth: np.ndarray, pred: np.ndarray, truth_snr: np.ndarray | None = None
) -> ImageScores:
    """Return all scores of predicted instance labels against true instance labels (same shape).

    ``truth_snr``: optional ideal SNR of each true instance, in sorted label order
    (``nanolive.sim.detectability.particle_snr``); then ``visible`` holds the IoU-0.5 matches of the
    true instances at or above the Rose criterion (tp, fp = 0, fn = those missed).
    """
    pixel = PixelScores.of(truth, pred)
    iou = iou_matrix(truth, pred)
    pairs = match_by_iou(iou, 0.5)
    visible = None if truth_snr is None else visible_counts(truth_snr, pairs)
    d_t, d_p = equivalent_diameters_px(truth), equivalent_diameters_px(pred)
    abs_err = tuple(float(abs(d_p[b] - d_t[a])) for a, b in pairs)
    rel_err = tuple(float(abs(d_p[b] - d_t[a]) / d_t[a]) for a, b in pairs)
    return ImageScores(
        pixel,
        InstanceCounts(len(pairs), iou.shape[1] - len(pairs), iou.shape[0] - len(pairs)),
        instance_counts(iou, 0.75),
        iou.shape[0],
        iou.shape[1],
        abs_err,
        rel_err,
        visible,
    )


def visible_counts(truth_snr: np.ndarray, pairs: list[tuple[int, int]]) -> InstanceCounts:
    """Return (found, 0, missed) over the true instances that reach the Rose criterion
    (``nanolive.sim.detectability.is_visible``)."""
    from nanolive.sim.detectability import is_visible

    visible = is_visible(truth_snr)
    found = sum(1 for a, _ in pairs if visible[a])
    return InstanceCounts(found, 0, int(np.count_nonzero(visible)) - found)


def summarise(scores: list[ImageScores]) -> dict[str, float]:
    """Return the set's metrics: pixel scores and F1 pooled over images; count error as the mean
    relative |n_pred - n_true| / n_true per image; diameter errors as means over matched pairs."""
    if not scores:
        raise ValueError("no images to summarise")
    pix = scores[0].pixel
    i50, i75 = scores[0].inst50, scores[0].inst75
    for s in scores[1:]:
        pix, i50, i75 = pix + s.pixel, i50 + s.inst50, i75 + s.inst75
    count_rel = [abs(s.n_pred - s.n_true) / max(s.n_true, 1) for s in scores]
    d_abs = [e for s in scores for e in s.diameter_abs_err_px]
    d_rel = [e for s in scores for e in s.diameter_rel_err]
    return visibility_metrics(scores) | {
        "images": float(len(scores)),
        "miou": pix.miou,
        "pixel_accuracy": pix.accuracy,
        "kappa": pix.kappa,
        "dice": pix.dice,
        "f1_iou50": i50.f1,
        "f1_iou75": i75.f1,
        "count_true": float(sum(s.n_true for s in scores)),
        "count_pred": float(sum(s.n_pred for s in scores)),
        "count_rel_err_mean": float(np.mean(count_rel)),
        "diameter_abs_err_px_mean": float(np.mean(d_abs)) if d_abs else float("nan"),
        "diameter_rel_err_mean": float(np.mean(d_rel)) if d_rel else float("nan"),
    }


def visibility_metrics(scores: list[ImageScores]) -> dict[str, float]:
    """Return, where every image has true SNRs: ``visible_share`` (true instances at or above the
    Rose criterion: the recall an ideal single-frame detector can reach), ``recall_visible``
    (IoU-0.5 recall on them) and ``recall_iou50`` (on all true instances); else nothing."""
    if any(s.visible is None for s in scores):
        return {}
    tp = sum(s.visible.tp for s in scores)
    n_visible = tp + sum(s.visible.fn for s in scores)
    n_true = sum(s.n_true for s in scores)
    found = sum(s.inst50.tp for s in scores)
    return {
        "visible_share": n_visible / n_true if n_true else float("nan"),
        "recall_visible": tp / n_visible if n_visible else float("nan"),
        "recall_iou50": found / n_true if n_true else float("nan"),
    }


def summarise_boxes(
    counts: list[InstanceCounts], n_true: list[int], n_pred: list[int]
) -> dict[str, float]:
    """Return detection F1 (box centres), precision, recall and mean relative count error."""
    if not counts:
        raise ValueError("no images to summarise")
    total = counts[0]
    for c in counts[1:]:
        total = total + c
    return {
        "images": float(len(counts)),
        "f1_box_centre": total.f1,
        "precision": total.tp / max(total.tp + total.fp, 1),
        "recall": total.tp / max(total.tp + total.fn, 1),
        "count_true": float(sum(n_true)),
        "count_pred": float(sum(n_pred)),
        "count_rel_err_mean": float(
            np.mean([abs(p - t) / max(t, 1) for t, p in zip(n_true, n_pred, strict=True)])
        ),
    }
