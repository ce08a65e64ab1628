"""Merge and split detection by volume conservation (pure functions on one frame's arrays).

A particle's volume is estimated as area^1.5 (px^3 up to a shape factor, the same for all particles).
Merge at frame t: a track A seen at t-1 is not matched at t, and a detection j at t, close to A's last
position, has the volume of A plus that of its other parent B: B is either the track that was linked to
j (it goes on, having swallowed A) or a second track that also ended at t (j then starts a new track).
Split is the same in reversed time. The no-event hypothesis is preferred when it explains the volumes
as well: a merge is accepted only when V(j) is closer to V(A) + V(B) than to V(B) alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class FrameParts:
    """What the event search needs to know about one frame (all positions in current-frame px).

    det_xy (m, 2), det_area (m,): detections of this frame. det_prev_xy (m, 2), det_prev_area (m,):
    last position/area of the track linked to each detection (NaN for a new detection).
    ended_xy (k, 2), ended_area (k,): last position/area of the tracks that were seen in the previous
    frame and not matched in this one.
    """

    det_xy: np.ndarray
    det_area: np.ndarray
    det_prev_xy: np.ndarray
    det_prev_area: np.ndarray
    ended_xy: np.ndarray
    ended_area: np.ndarray


@dataclass(frozen=True)
class MergeFound:
    """Ended tracks `ended` (indices into FrameParts.ended_*) merged into detection `det`;
    `with_linked` says whether the track linked to `det` is the other parent."""

    ended: tuple[int, ...]
    det: int
    with_linked: bool
    volume_error: float


@dataclass(frozen=True)
class SplitFound:
    """Detections `dets` are the two products of a split of either the track linked to dets[0]
    (`ended` is None) or the ended track `ended`."""

    dets: tuple[int, int]
    ended: int | None
    volume_error: float


def volume(area_px: np.ndarray | float) -> np.ndarray:
    """Return the volume proxy area^1.5 (px^3)."""
    return np.asarray(area_px, dtype=np.float64) ** 1.5


def radius(area_px: np.ndarray | float) -> np.ndarray:
    """Return the equivalent-circle radius (px) of an area (px^2)."""
    return np.sqrt(np.asarray(area_px, dtype=np.float64) / np.pi)


def _rel_err(whole: float, parts: float) -> float:
    return abs(whole - parts) / max(whole, parts)


def find_merges(parts: FrameParts, tolerance: float, max_gap_px: float) -> list[MergeFound]:
    """Return the merges of this frame, best (smallest volume error) first, each detection/track once."""
    k = parts.ended_xy.shape[0]
    m = parts.det_xy.shape[0]
    if k == 0 or m == 0:
        return []
    v_det = volume(parts.det_area)
    v_end = volume(parts.ended_area)
    v_prev = volume(parts.det_prev_area)
    r_det = radius(parts.det_area)
    r_end = radius(parts.ended_area)
    r_prev = radius(parts.det_prev_area)
    tree = cKDTree(parts.det_xy)
    reach = r_end + float(np.max(r_det)) + max_gap_px
    candidates: list[MergeFound] = []
    for a in range(k):
        for j in tree.query_ball_point(parts.ended_xy[a], reach[a]):
            if np.hypot(*(parts.det_xy[j] - parts.ended_xy[a])) > r_end[a] + r_det[j] + max_gap_px:
                continue
            if np.isfinite(v_prev[j]):
                gap = np.hypot(*(parts.det_prev_xy[j] - parts.ended_xy[a])) - r_prev[j] - r_end[a]
                if gap > max_gap_px:
                    continue
                err = _rel_err(v_det[j], v_end[a] + v_prev[j])
                if err <= tolerance and err < _rel_err(v_det[j], v_prev[j]):
                    candidates.append(MergeFound((a,), j, True, err))
                continue
            for b in range(k):
                if b == a:
                    continue
                gap = np.hypot(*(parts.ended_xy[b] - parts.ended_xy[a])) - r_end[a] - r_end[b]
                near_b = np.hypot(*(parts.det_xy[j] - parts.ended_xy[b])) <= r_end[b] + r_det[j]
                if gap > max_gap_px or not near_b:
                    continue
                err = _rel_err(v_det[j], v_end[a] + v_end[b])
                best_single = min(_rel_err(v_det[j], v_end[a]), _rel_err(v_det[j], v_end[b]))
                if err <= tolerance and err < best_single:
                    candidates.append(MergeFound((a, b), j, False, err))
    return _greedy_unique(candidates, lambda c: c.ended, lambda c: (c.det,))


def find_splits(parts: FrameParts, tolerance: float, max_gap_px: float) -> list[SplitFound]:
    """Return the splits of this frame, best first, each detection/track used once.

    Products are new detections (no linked track) next to either a linked detection whose track had
    the volume of both (the track split off a part) or another new detection where a track ended.
    """
    m = parts.det_xy.shape[0]
    new = np.flatnonzero(~np.isfinite(parts.det_prev_area))
    if new.size == 0 or m < 2:
        return []
    v_det = volume(parts.det_area)
    v_prev = volume(parts.det_prev_area)
    v_end = volume(parts.ended_area)
    r_det = radius(parts.det_area)
    r_end = radius(parts.ended_area)
    r_prev = radius(parts.det_prev_area)
    tree = cKDTree(parts.det_xy)
    reach = 2 * float(np.max(r_det)) + max_gap_px
    candidates: list[SplitFound] = []
    for j2 in new:
        for j1 in tree.query_ball_point(parts.det_xy[j2], reach):
            if j1 == j2:
                continue
            gap = np.hypot(*(parts.det_xy[j1] - parts.det_xy[j2])) - r_det[j1] - r_det[j2]
            if gap > max_gap_px:
                continue
            both = v_det[j1] + v_det[j2]
            if np.isfinite(v_prev[j1]):
                near = (
                    np.hypot(*(parts.det_xy[j2] - parts.det_prev_xy[j1])) <= r_prev[j1] + r_det[j2]
                )
                err = _rel_err(v_prev[j1], both)
                if near and err <= tolerance and err < _rel_err(v_prev[j1], v_det[j1]):
                    candidates.append(SplitFound((int(j1), int(j2)), None, err))
                continue
            if j1 < j2 or parts.ended_xy.shape[0] == 0:
                continue  # a pair of new detections is examined once
            mid = (parts.det_xy[j1] + parts.det_xy[j2]) / 2
            dist = np.hypot(*(parts.ended_xy - mid).T)
            for p in np.flatnonzero(dist <= r_end + max_gap_px):
                err = _rel_err(v_end[p], both)
                single = min(_rel_err(v_end[p], v_det[j1]), _rel_err(v_end[p], v_det[j2]))
                if err <= tolerance and err < single:
                    candidates.append(SplitFound((int(j1), int(j2)), int(p), err))
    return _greedy_unique(
        candidates,
        lambda c: () if c.ended is None else (c.ended,),
        lambda c: c.dets,
    )


def _greedy_unique(candidates: list, ended_of, dets_of) -> list:  # noqa: ANN001
    """Keep candidates by increasing volume error while their tracks and detections are unused."""
    used_ended: set[int] = set()
    used_dets: set[int] = set()
    kept = []
    for c in sorted(candidates, key=lambda c: c.volume_error):
        e, d = set(ended_of(c)), set(dets_of(c))
        if e & used_ended or d & used_dets:
            continue
        used_ended |= e
        used_dets |= d
        kept.append(c)
    return kept
