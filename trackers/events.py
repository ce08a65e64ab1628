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
from functools import cached_property
from itertools import chain

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

    @cached_property
    def sizes(self) -> tuple[np.ndarray, ...]:
        """Volumes and radii (v_det, v_prev, v_end, r_det, r_prev, r_end), computed once per frame
        for `find_merges` and `find_splits`."""
        return (
            volume(self.det_area),
            volume(self.det_prev_area),
            volume(self.ended_area),
            radius(self.det_area),
            radius(self.det_prev_area),
            radius(self.ended_area),
        )

    @cached_property
    def ended_tree(self) -> cKDTree:
        """KD-tree of ended_xy (built once per frame, only when needed)."""
        return cKDTree(self.ended_xy)


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


def _ball_pairs(
    tree: cKDTree, centres: np.ndarray, radii: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Return (query index, point index) of every tree point within the radius of each centre."""
    if centres.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return z, z
    lists = tree.query_ball_point(centres, radii)
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    q = np.repeat(np.arange(len(lists)), lengths)
    j = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
    return q, j


def _rel_err_v(whole: np.ndarray, parts: np.ndarray) -> np.ndarray:
    return np.abs(whole - parts) / np.maximum(whole, parts)


def find_merges(
    parts: FrameParts, tolerance: float, max_gap_px: float, tree: cKDTree | None = None
) -> list[MergeFound]:
    """Return the merges of this frame, best (smallest volume error) first, each detection/track once.

    tree: a cKDTree of parts.det_xy when one exists already.
    """
    k = parts.ended_xy.shape[0]
    m = parts.det_xy.shape[0]
    if k == 0 or m == 0:
        return []
    v_det, v_prev, v_end, r_det, r_prev, r_end = parts.sizes
    tree = cKDTree(parts.det_xy) if tree is None else tree
    a, j = _ball_pairs(tree, parts.ended_xy, r_end + float(np.max(r_det)) + max_gap_px)
    dist = np.hypot(*(parts.det_xy.take(j, axis=0) - parts.ended_xy.take(a, axis=0)).T)
    keep = dist <= r_end[a] + r_det[j] + max_gap_px
    a, j = a[keep], j[keep]
    linked = np.isfinite(v_prev[j])
    candidates: list[MergeFound] = []
    # the track linked to j is the other parent
    la, lj = a[linked], j[linked]
    gap = (
        np.hypot(*(parts.det_prev_xy.take(lj, axis=0) - parts.ended_xy.take(la, axis=0)).T)
        - r_prev[lj]
        - r_end[la]
    )
    err = _rel_err_v(v_det[lj], v_end[la] + v_prev[lj])
    ok = (gap <= max_gap_px) & (err <= tolerance) & (err < _rel_err_v(v_det[lj], v_prev[lj]))
    candidates += [
        MergeFound((int(x),), int(y), True, float(e))
        for x, y, e in zip(la[ok], lj[ok], err[ok], strict=True)
    ]
    # j is new: the other parent is a second ended track near j
    ua, uj = a[~linked], j[~linked]
    if ua.size:
        q, b = _ball_pairs(
            parts.ended_tree, parts.det_xy.take(uj, axis=0), r_det[uj] + float(np.max(r_end))
        )
        x, y = ua[q], uj[q]
        gap_ab = (
            np.hypot(*(parts.ended_xy.take(b, axis=0) - parts.ended_xy.take(x, axis=0)).T)
            - r_end[x]
            - r_end[b]
        )
        near_b = (
            np.hypot(*(parts.ended_xy.take(b, axis=0) - parts.det_xy.take(y, axis=0)).T)
            <= r_end[b] + r_det[y]
        )
        e = _rel_err_v(v_det[y], v_end[x] + v_end[b])
        single = np.minimum(_rel_err_v(v_det[y], v_end[x]), _rel_err_v(v_det[y], v_end[b]))
        ok = (b != x) & (gap_ab <= max_gap_px) & near_b & (e <= tolerance) & (e < single)
        candidates += [
            MergeFound((int(p), int(o)), int(d), False, float(v))
            for p, o, d, v in zip(x[ok], b[ok], y[ok], e[ok], strict=True)
        ]
    return _greedy_unique(candidates, lambda c: c.ended, lambda c: (c.det,))


def find_splits(
    parts: FrameParts, tolerance: float, max_gap_px: float, tree: cKDTree | None = None
) -> list[SplitFound]:
    """Return the splits of this frame, best first, each detection/track used once.

    Products are new detections (no linked track) next to either a linked detection whose track had
    the volume of both (the track split off a part) or another new detection where a track ended.
    tree: a cKDTree of parts.det_xy when one exists already.
    """
    m = parts.det_xy.shape[0]
    new = np.nonzero(~np.isfinite(parts.det_prev_area))[0]
    if new.size == 0 or m < 2:
        return []
    v_det, v_prev, v_end, r_det, r_prev, r_end = parts.sizes
    tree = cKDTree(parts.det_xy) if tree is None else tree
    q, j1 = _ball_pairs(tree, parts.det_xy.take(new, axis=0), 2 * float(np.max(r_det)) + max_gap_px)
    j2 = new[q]
    gap = (
        np.hypot(*(parts.det_xy.take(j1, axis=0) - parts.det_xy.take(j2, axis=0)).T)
        - r_det[j1]
        - r_det[j2]
    )
    keep = (j1 != j2) & (gap <= max_gap_px)
    j1, j2 = j1[keep], j2[keep]
    both = v_det[j1] + v_det[j2]
    linked = np.isfinite(v_prev[j1])
    candidates: list[SplitFound] = []
    # the track linked to j1 split off j2
    a1, a2, ab = j1[linked], j2[linked], both[linked]
    near = (
        np.hypot(*(parts.det_xy.take(a2, axis=0) - parts.det_prev_xy.take(a1, axis=0)).T)
        <= r_prev[a1] + r_det[a2]
    )
    err = _rel_err_v(v_prev[a1], ab)
    ok = near & (err <= tolerance) & (err < _rel_err_v(v_prev[a1], v_det[a1]))
    candidates += [
        SplitFound((int(x), int(y)), None, float(e))
        for x, y, e in zip(a1[ok], a2[ok], err[ok], strict=True)
    ]
    # two new detections where a track ended (each pair once: j1 > j2)
    pair = ~linked & (j1 > j2)
    if parts.ended_xy.shape[0] and np.any(pair):
        x, y = j1[pair], j2[pair]
        mid = (parts.det_xy.take(x, axis=0) + parts.det_xy.take(y, axis=0)) / 2
        q, e_idx = _ball_pairs(parts.ended_tree, mid, float(np.max(r_end)) + max_gap_px)
        x, y, mid = x[q], y[q], mid[q]
        near = np.hypot(*(parts.ended_xy.take(e_idx, axis=0) - mid).T) <= r_end[e_idx] + max_gap_px
        total = v_det[x] + v_det[y]
        e = _rel_err_v(v_end[e_idx], total)
        single = np.minimum(_rel_err_v(v_end[e_idx], v_det[x]), _rel_err_v(v_end[e_idx], v_det[y]))
        ok = near & (e <= tolerance) & (e < single)
        candidates += [
            SplitFound((int(d1), int(d2)), int(p), float(v))
            for d1, d2, p, v in zip(x[ok], y[ok], e_idx[ok], e[ok], strict=True)
        ]
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


@dataclass
class PendingEvent:
    """A merge or split seen at `frame`, confirmed or dropped at `deadline` (mutable accumulator).

    parents / children: track ids; survivor: id of a parent that goes on as one of the children (its
    track was linked to the product), 0 if none. parent_volumes: smoothed volumes (px^3) of the parents
    in the frame before the event. child_area_sum / child_area_count: areas (px^2) of each child's
    detections from `frame` to the current frame, to average out segmentation noise.
    """

    kind: str
    frame: int
    t_s: float
    x: float
    y: float
    parents: tuple[int, ...]
    children: tuple[int, ...]
    survivor: int
    parent_volumes: tuple[float, ...]
    deadline: int
    child_area_sum: list[float]
    child_area_count: list[int]

    def track_ids(self) -> set[int]:
        """Every track id this event involves."""
        return set(self.parents) | set(self.children)


def pending_verdict(p: PendingEvent, tolerance: float, min_presence: float = 0.5) -> bool:
    """Return True when the averaged volumes confirm the event.

    Every child must have been detected in at least `min_presence` of the frames since the event; the
    volumes must be conserved within `tolerance` and explain the data better than "nothing happened"
    (merge: the child is just the surviving parent / one of the parents; split: the parent is just the
    surviving child / one of the children).
    """
    window = p.deadline - p.frame + 1
    need = max(1, int(np.ceil(min_presence * window)))
    if min(p.child_area_count) < need:
        return False
    v_children = [(s / c) ** 1.5 for s, c in zip(p.child_area_sum, p.child_area_count, strict=True)]
    if p.kind == "merge":
        whole, parts = v_children[0], p.parent_volumes
        if p.survivor:
            alternatives = [p.parent_volumes[p.parents.index(p.survivor)]]
        else:
            alternatives = list(p.parent_volumes)
    else:
        whole, parts = p.parent_volumes[0], tuple(v_children)
        if p.survivor:
            alternatives = [v_children[p.children.index(p.survivor)]]
        else:
            alternatives = list(v_children)
    err = _rel_err(whole, float(sum(parts)))
    alt = min(_rel_err(whole, a) for a in alternatives)
    return err <= tolerance and err < alt
