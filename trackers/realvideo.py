"""Measure the whole chain (segmentation engine -> particle table -> tracker) on a video with true
per-frame masks but no simulator behind it: the SAM-EM liquid-cell TEM example of shared/data
(``engines.data.load_lptem_video``: 50 frames of 1024 x 1024 px, one particle ~70 px across in heavy
noise, moving ~26 px per frame).

Truth: one point per true instance per frame (its centroid, px; x = column, y = row), with the
instance's label as its track id (the SAM-EM masks hold one object, the same in every frame).
Prediction: as in :mod:`trackers.evaluation`, every detection of a track that was confirmed at some
point, with the id the tracker gave it online. A prediction matches the truth within
``MATCH_FRACTION`` of the true particle's equivalent diameter (the particle is large: a fixed 5 px
would score localisation noise of its outline, not tracking).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .config import TrackerConfig
from .evaluation import engine_detections, track_video
from .metrics import Points, clear_mot, close_pairs, hota, identity_scores

if TYPE_CHECKING:
    from nanolive.engines.base import Engine

#: Match distance as a fraction of the true particle's median equivalent diameter.
MATCH_FRACTION = 0.25


@dataclass(frozen=True)
class VideoFrame:
    """One frame of a video for :func:`trackers.evaluation.track_video`: the image and its time (s)."""

    image: np.ndarray
    t_s: float


@dataclass(frozen=True)
class MaskedVideoScores:
    """Chain scores of one masked video under one setting.

    match_distance_px: the match distance used (px); tracks_on_truth: distinct predicted track ids
    matched to the true particles; longest_run: the most consecutive frames one predicted id stayed
    matched to one true particle; centroid_error_px: median distance of the matches (px);
    detections_per_frame: the engine's instances per frame (spurious ones included).
    """

    name: str
    setting: str
    n_frames: int
    mota: float
    idf1: float
    hota: float
    id_switches: int
    false_negatives: int
    false_positives: int
    tracks_on_truth: int
    longest_run: int
    centroid_error_px: float
    detections_per_frame: float
    match_distance_px: float


def truth_points_of_labels(labels: Sequence[np.ndarray]) -> list[Points]:
    """Return per frame one point per true instance: (label as id, centroid x, y px)."""
    from scipy import ndimage as ndi

    out = []
    for lab in labels:
        ids = np.unique(lab[lab > 0])
        centres = ndi.center_of_mass(lab > 0, lab, ids) if ids.size else []
        xy = np.array([(c, r) for r, c in centres], dtype=np.float64).reshape(-1, 2)
        out.append(Points(ids.astype(np.int64), xy))
    return out


def median_true_diameter_px(labels: Sequence[np.ndarray]) -> float:
    """Return the median equivalent diameter (px) of the true instances over all frames."""
    areas = np.concatenate([np.bincount(lab.ravel())[1:] for lab in labels])
    areas = areas[areas > 0]
    return float(np.median(2.0 * np.sqrt(areas / np.pi))) if areas.size else float("nan")


def identity_runs(
    truth: Sequence[Points], pred: Sequence[Points], max_distance_px: float
) -> tuple[int, int, float]:
    """Return (distinct predicted ids matched to truth, longest run of frames one predicted id
    stayed matched to one true id, median match distance px), matching each true point to its
    nearest predicted point within ``max_distance_px`` (one to one, nearest pairs first)."""
    ids_seen: set[int] = set()
    run: dict[int, tuple[int, int]] = {}  # true id -> (pred id, run length)
    longest = 0
    distances: list[float] = []
    for t, p in zip(truth, pred, strict=True):
        now: dict[int, tuple[int, int]] = {}
        i, j, d = close_pairs(t, p, max_distance_px)
        used_t: set[int] = set()
        used_p: set[int] = set()
        for k in np.argsort(d):  # nearest pairs first, one to one
            a, b = int(i[k]), int(j[k])
            if a in used_t or b in used_p:
                continue
            used_t.add(a)
            used_p.add(b)
            tid, pid = int(t.ids[a]), int(p.ids[b])
            ids_seen.add(pid)
            distances.append(float(d[k]))
            prev = run.get(tid)
            length = prev[1] + 1 if prev is not None and prev[0] == pid else 1
            now[tid] = (pid, length)
            longest = max(longest, length)
        run = now
    median = float(np.median(distances)) if distances else float("nan")
    return len(ids_seen), longest, median


def score_masked_video(
    name: str,
    setting: str,
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    engine: Engine,
    config: TrackerConfig,
    frame_interval_s: float = 1.0,
) -> MaskedVideoScores:
    """Run ``engine`` and the tracker over ``images``; return the chain's scores against the true
    instance ``labels`` (one label image per frame)."""
    if len(images) != len(labels) or len(images) < 2:
        raise ValueError("a masked video needs >= 2 frames and one label image per frame")
    frames = [
        VideoFrame(np.asarray(im, np.float32), i * frame_interval_s) for i, im in enumerate(images)
    ]
    detections = engine_detections(frames, engine)
    pred, _, _, _ = track_video(frames, detections, config, use_images=True)  # as the pipeline
    truth = truth_points_of_labels(labels)
    match = MATCH_FRACTION * median_true_diameter_px(labels)
    mot = clear_mot(truth, pred, match)
    idf = identity_scores(truth, pred, match)
    h = hota(truth, pred, match)
    tracks, longest, error = identity_runs(truth, pred, match)
    return MaskedVideoScores(
        name=name,
        setting=setting,
        n_frames=len(frames),
        mota=mot.mota,
        idf1=idf.idf1,
        hota=h.hota,
        id_switches=mot.id_switches,
        false_negatives=mot.false_negatives,
        false_positives=mot.false_positives,
        tracks_on_truth=tracks,
        longest_run=longest,
        centroid_error_px=error,
        detections_per_frame=float(np.mean([len(d.x) for d in detections])),
        match_distance_px=match,
    )


def masked_video_table(rows: Sequence[MaskedVideoScores]) -> list[str]:
    """Return Markdown table lines, one row per (video, setting)."""
    head = (
        "| video | setting | frames | MOTA | IDF1 | HOTA | ID switches | FN | FP |"
        " tracks on the particle | longest run (frames) | centroid error px | detections/frame |"
    )
    lines = [head, "|---" * 13 + "|"]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.setting} | {r.n_frames} | {r.mota:.3f} | {r.idf1:.3f} | {r.hota:.3f} |"
            f" {r.id_switches} | {r.false_negatives} | {r.false_positives} | {r.tracks_on_truth} |"
            f" {r.longest_run} | {r.centroid_error_px:.1f} | {r.detections_per_frame:.1f} |"
        )
    return lines
