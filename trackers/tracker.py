"""The streaming particle tracker: one `update` per frame, tracks and events out.

Per frame: Kalman predict of every track -> global drift compensation -> KD-tree gate + Mahalanobis
cost -> thresholded assignment (`associate_edges`) -> Kalman update of matched tracks -> merge / split
candidates from the tracks that ended and the detections that started (decided `merge_confirm_frames`
later on averaged areas) -> track lifecycle (tentative tracks confirmed after `min_hits` matches,
coasting through up to `max_gap` missed frames, deletion) -> events.

Track state is kept as stacked numpy arrays (one row per live track), so the per-frame cost has no
Python loop over tracks; only the few pending merge/split events are looped over.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
from scipy.spatial import cKDTree

from .association import solve_edges, stack_columns
from .config import TrackerConfig
from .drift import detection_drift, drift_from_displacements, phase_drift
from .events import (
    FrameParts,
    PendingEvent,
    find_merges,
    find_splits,
    pending_verdict,
    volume,
)
from .kalman import DIM_X, N_BLOCKS, SIZE, KalmanModel
from .summaries import TrackHistory, track_summaries
from .types import Detections, TrackEvent, TrackUpdate

logger = logging.getLogger(__name__)

_LIVE_ARRAYS: tuple[str, ...] = (
    "_ids",
    "_x",
    "_P",
    "_hits",
    "_misses",
    "_confirmed",
    "_first",
    "_last_seen",
    "_last_xy",
    "_last_area",
    "_first_xy",
    "_area_smooth",
)


def _tree(points: np.ndarray) -> cKDTree:
    """Return a KD-tree of points (n, 2) built for speed (sliding midpoint: faster to build, as fast
    to query for particles spread over a field). The points are not copied: do not modify them
    while the tree is in use."""
    return cKDTree(points, leafsize=16, balanced_tree=False, compact_nodes=False, copy_data=False)


class Tracker:
    """Kalman + thresholded-LAP tracker of particles, fed one frame at a time.

    config: settings; frame_interval_s: time between frames (s), used when `update` gets no `t_s` and
    for the per-track rates; pixel_size_nm: adds nm columns to `summaries()` when known.
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        frame_interval_s: float = 1.0,
        pixel_size_nm: float | None = None,
    ) -> None:
        if not frame_interval_s > 0:
            raise ValueError(f"frame_interval_s must be > 0, not {frame_interval_s!r}")
        if pixel_size_nm is not None and not pixel_size_nm > 0:
            raise ValueError(f"pixel_size_nm must be > 0 or None, not {pixel_size_nm!r}")
        self.config = config if config is not None else TrackerConfig()
        self.frame_interval_s = float(frame_interval_s)
        self.pixel_size_nm = pixel_size_nm
        self._model = KalmanModel.from_config(self.config)
        self._frame = 0
        self._next_id = 1
        self._ids = np.zeros(0, np.int64)
        self._x = np.zeros((0, DIM_X))
        self._P = np.zeros((0, N_BLOCKS, 3))
        self._hits = np.zeros(0, np.int64)
        self._misses = np.zeros(0, np.int64)
        self._confirmed = np.zeros(0, bool)
        self._first = np.zeros(0, np.int64)
        self._last_seen = np.zeros(0, np.int64)
        self._last_xy = np.zeros((0, 2))
        self._last_area = np.zeros(0)
        self._first_xy = np.zeros((0, 2))
        self._area_smooth = np.zeros(0)
        self._pending: list[PendingEvent] = []
        self._busy: set[int] = set()
        self._no_appear: set[int] = set()
        self._prev_image: np.ndarray | None = None
        self._field_shape = self.config.field_shape
        self._drift_total = np.zeros(2)
        self._last_drift = np.zeros(2)
        self._times: list[float] = []
        self._history = TrackHistory()
        self._ever_confirmed: set[int] = set()
        self._finished = False

    # ------------------------------------------------------------------ public
    @property
    def frame(self) -> int:
        """Index of the next frame `update` will receive."""
        return self._frame

    def update(
        self,
        detections: Detections | Mapping[str, np.ndarray],
        image: np.ndarray | None = None,
        t_s: float | None = None,
    ) -> TrackUpdate:
        """Track one frame; call it for every frame, with `Detections.empty()` when nothing was found.

        image: the frame (any dtype, (H, W)) for phase-correlation drift and edge checks (optional).
        t_s: acquisition time (s); default frame index * frame_interval_s.
        """
        if self._finished:
            raise RuntimeError("update() called after finish(); create a new Tracker")
        det = (
            detections if isinstance(detections, Detections) else Detections.from_table(detections)
        )
        frame = self._frame
        t = float(t_s) if t_s is not None else frame * self.frame_interval_s
        if image is not None:
            image = np.asarray(image)
            if image.ndim != 2:
                raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
            self._field_shape = (int(image.shape[0]), int(image.shape[1]))
        det_xy = stack_columns(det.x, det.y)
        det_d = det.diameter_px

        x, P = self._model.predict(self._x, self._P)
        tree = _tree(det_xy) if len(det) else None
        drift, cand_i, cand_j = self._gate(x, det_xy, tree, image)
        x[:, 0] += drift[0]
        x[:, 2] += drift[1]
        self._last_xy = self._last_xy + drift
        self._drift_total += drift
        self._last_drift = drift

        matches, _, unmatched_dets = self._associate(x, P, det, det_d, cand_i, cand_j)
        rows, cols = matches[:, 0], matches[:, 1]
        n_old = self._ids.size
        prev_area = self._area_smooth.copy()
        prev_xy = self._last_xy.copy()
        matched = np.zeros(n_old, bool)
        matched[rows] = True
        z = stack_columns(det.x.take(cols), det.y.take(cols), det_d.take(cols))
        self._x, self._P = self._update_matched(x, P, matched, rows, z)
        self._misses[~matched] += 1
        self._misses[rows] = 0
        self._hits[rows] += 1
        self._last_seen[rows] = frame
        self._last_xy[rows] = det_xy.take(cols, axis=0)
        self._last_area[rows] = det.area_px[cols]
        a = self.config.area_smoothing
        self._area_smooth[rows] = a * det.area_px[cols] + (1 - a) * self._area_smooth[rows]

        det_track = np.full(len(det), -1, np.int64)  # row in the live arrays
        det_track[cols] = rows
        ended = np.nonzero(~matched & (self._last_seen == frame - 1))[0]
        events: list[TrackEvent] = []
        new_rows = self._add_tracks(det, det_d, unmatched_dets, frame)
        det_track[unmatched_dets] = new_rows
        self._find_candidates(
            det, det_xy, tree, det_track, matches, prev_xy, prev_area, ended, frame, t
        )
        row_of = self._rows_of_busy()  # ids and rows do not change until _resolve_pending
        self._accumulate_pending(frame, row_of)
        found, retired = self._resolve_pending(frame, t, row_of=row_of)
        events += found
        events += self._confirm(frame, t)
        track_ids = self._ids[det_track]
        confirmed = self._confirmed[det_track]
        events += self._delete(retired, frame, t)
        coasting_ids, coasting_xy = self._coasting()
        self._history.append(frame, track_ids, det_xy - self._drift_total, det.area_px)
        self._times.append(t)
        self._frame += 1
        return TrackUpdate(
            frame=frame,
            track_ids=track_ids.copy(),
            confirmed=confirmed.copy(),
            events=events,
            active_tracks=int(self._ids.size),
            drift_px=(float(drift[0]), float(drift[1])),
            coasting_ids=coasting_ids,
            coasting_xy=coasting_xy,
        )

    def finish(self) -> list[TrackEvent]:
        """Close the series: pending merges/splits are decided on the frames seen, and every coasting
        confirmed track disappears (reason "end"); returns those events."""
        if self._finished:
            return []
        self._finished = True
        t_end = self._frame * self.frame_interval_s
        if self._times:
            t_end = self._times[-1] + self.frame_interval_s
        events, retired = self._resolve_pending(self._frame - 1, t_end, everything=True)
        keep = np.ones(self._ids.size, bool)
        keep[list(retired)] = False
        for name in _LIVE_ARRAYS:
            setattr(self, name, getattr(self, name)[keep])
        events += [
            self._disappear_event(i, "end", self._frame, t_end)
            for i in np.nonzero(self._confirmed & (self._misses > 0))[0]
        ]
        return events

    def confirmed_track_ids(self) -> set[int]:
        """Ids of every track that was confirmed at some point (tentative-only tracks excluded)."""
        return set(self._ever_confirmed)

    def history(self) -> TrackHistory:
        """Every detection seen so far with its track id and drift-corrected position."""
        return self._history

    def summaries(self) -> dict[str, np.ndarray]:
        """Per-track table (one row per confirmed track): velocity, diffusion, diameter growth.

        See `summaries.track_summaries` for the columns and units.
        """
        return track_summaries(
            self._history,
            np.asarray(self._times),
            self.frame_interval_s,
            self.pixel_size_nm,
            keep_ids=self._ever_confirmed,
        )

    # ----------------------------------------------------------------- helpers
    def _image_drift(self, image: np.ndarray | None) -> np.ndarray | None:
        """Return the phase-correlation drift when the config asks for it (else None)."""
        mode = self.config.drift
        previous = self._prev_image
        if image is not None:
            self._prev_image = image
        if mode == "phase" or (mode == "auto" and image is not None and previous is not None):
            if image is None or previous is None:
                logger.debug("phase drift needs two consecutive images; assuming no drift")
                return np.zeros(2)
            dx, dy = phase_drift(previous, image, self.config.drift_downsample)
            if np.hypot(dx, dy) <= self.config.drift_max_px:
                return np.array([dx, dy])
            logger.info("phase drift %.1f px exceeds drift_max_px; ignored", np.hypot(dx, dy))
            return np.zeros(2)
        return None

    def _gate(
        self, x: np.ndarray, det_xy: np.ndarray, tree: cKDTree | None, image: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the drift (dx, dy) and the candidate pairs (track rows, detection indices).

        Candidates: the `max_candidates` nearest detections within max_distance_px of each predicted,
        drift-shifted track position (one KD-tree query). Drift from detections: the previous frame's
        drift is the prior; the residual is the robust mode of the nearest-neighbour displacements of
        the tracks seen in the previous frame; if it is large or unreliable, a wide search over
        drift_max_px decides and the candidates are searched again. (A small residual does not change
        the candidate set materially; the costs are computed from the final positions.)
        """
        image_drift = self._image_drift(image)
        none = np.zeros(0, np.int64)
        n = x.shape[0]
        if tree is None or n == 0:
            return (np.zeros(2) if image_drift is None else image_drift), none, none
        c = self.config
        by_detections = image_drift is None and c.drift != "none" and self._frame > 0
        shift = image_drift if image_drift is not None else np.zeros(2)
        if by_detections:
            shift = self._last_drift.copy()
        pred = stack_columns(x[:, 0], x[:, 2]) + shift
        k = min(c.max_candidates, det_xy.shape[0])
        dist, j = tree.query(pred, k=k, distance_upper_bound=c.max_distance_px)
        dist, j = dist.reshape(n, k), j.reshape(n, k)
        if by_detections:
            was_seen = self._misses == 0
            seen = np.nonzero(was_seen & np.isfinite(dist[:, 0]))[0]
            disp = det_xy.take(j[:, 0].take(seen), axis=0) - pred.take(seen, axis=0)
            residual = np.array(drift_from_displacements(disp, c.max_distance_px))
            reliable = int(np.count_nonzero(was_seen))
            too_few = seen.size < max(3, reliable // 2)
            if too_few or np.hypot(*residual) > c.max_distance_px / 3:
                wide = (self._misses == 0) & (self._hits >= 1)
                residual = np.asarray(
                    detection_drift(pred[wide], det_xy, c.drift_max_px, tree=tree)
                )
                pred = pred + residual
                dist, j = tree.query(pred, k=k, distance_upper_bound=c.max_distance_px)
                dist, j = dist.reshape(n, k), j.reshape(n, k)
            shift = shift + residual
        found = np.flatnonzero(np.isfinite(dist))  # row-major: by track, nearest first
        return shift, found // k, j.ravel().take(found)

    def _update_matched(
        self, x: np.ndarray, cov: np.ndarray, matched: np.ndarray, rows: np.ndarray, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the states (n, 6) and covariances (n, 3, 3) after the Kalman update of the rows
        `rows` (= np.flatnonzero(matched)) with their measurements z (len(rows), 3) (px).

        The update runs over every row (unmatched rows get a dummy measurement, their result is
        discarded): the same per-row arithmetic as updating the matched rows alone, without the
        gather/scatter of the stacked arrays, which costs more than the few extra rows."""
        if rows.size == 0:
            return x, cov
        z_all = np.zeros((x.shape[0], z.shape[1]))
        z_all[rows] = z
        x_new, cov_new = self._model.update(x, cov, z_all)
        keep = ~matched
        np.copyto(x_new, x, where=keep[:, None])
        np.copyto(cov_new, cov, where=keep[:, None, None])
        return x_new, cov_new

    def _associate(
        self,
        x: np.ndarray,
        cov: np.ndarray,
        det: Detections,
        det_d: np.ndarray,
        i: np.ndarray,
        j: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cost of each candidate pair = squared Mahalanobis distance of the innovation (x, y and,
        with `size_in_cost`, the diameter); return the solution of the thresholded LAP (non-link
        cost gate_chi2)."""
        n, m = x.shape[0], len(det)
        var = self._model.innovation_variance(cov)
        # column-wise take: the same values as x[i, 0] etc., without 2-D fancy-indexing overhead
        ex = det.x.take(j) - x[:, 0].take(i)
        ey = det.y.take(j) - x[:, 2].take(i)
        d2 = ex * ex / var[:, 0].take(i) + ey * ey / var[:, 1].take(i)
        if self.config.size_in_cost:
            ed = det_d.take(j) - x[:, SIZE].take(i)
            d2 += np.minimum(ed * ed / var[:, 2].take(i), self.config.size_cost_cap)
        # i, j come from the KD-tree query (valid, unique pairs) and d2 is finite: skip the checks
        return solve_edges(i, j, d2, (n, m), self.config.gate_chi2)

    def _add_tracks(
        self, det: Detections, det_d: np.ndarray, which: np.ndarray, frame: int
    ) -> np.ndarray:
        """Start tentative tracks at detections `which`; return their rows in the live arrays."""
        k = which.size
        start = self._ids.size
        if k == 0:
            return np.zeros(0, np.int64)
        z = stack_columns(det.x[which], det.y[which], det_d[which])
        x0, P0 = self._model.initial_state(z)
        self._ids = np.concatenate([self._ids, np.arange(self._next_id, self._next_id + k)])
        self._next_id += k
        self._x = np.concatenate([self._x, x0])
        self._P = np.concatenate([self._P, P0])
        self._hits = np.concatenate([self._hits, np.ones(k, np.int64)])
        self._misses = np.concatenate([self._misses, np.zeros(k, np.int64)])
        self._confirmed = np.concatenate([self._confirmed, np.zeros(k, bool)])
        self._first = np.concatenate([self._first, np.full(k, frame, np.int64)])
        self._last_seen = np.concatenate([self._last_seen, np.full(k, frame, np.int64)])
        self._last_xy = np.concatenate([self._last_xy, z[:, :2]])
        self._last_area = np.concatenate([self._last_area, det.area_px[which]])
        self._first_xy = np.concatenate([self._first_xy, z[:, :2]])
        self._area_smooth = np.concatenate([self._area_smooth, det.area_px[which]])
        return np.arange(start, start + k)

    def _rows_of_busy(self) -> dict[int, int]:
        """Return {track id: live row} for every track involved in a pending event."""
        if not self._busy:
            return {}
        busy = np.sort(np.fromiter(self._busy, np.int64, len(self._busy)))
        pos = np.minimum(np.searchsorted(busy, self._ids), busy.size - 1)
        rows = np.nonzero(busy[pos] == self._ids)[0]
        return dict(zip(self._ids[rows].tolist(), rows.tolist(), strict=True))

    def _find_candidates(
        self,
        det: Detections,
        det_xy: np.ndarray,
        tree: cKDTree | None,
        det_track: np.ndarray,
        matches: np.ndarray,
        prev_xy: np.ndarray,
        prev_area: np.ndarray,
        ended: np.ndarray,
        frame: int,
        t: float,
    ) -> None:
        """Register the merges and splits that this frame suggests as pending events."""
        rows, cols = matches[:, 0], matches[:, 1]
        m = len(det)
        det_prev_xy = np.full((m, 2), np.nan)
        det_prev_area = np.full(m, np.nan)
        det_prev_xy[cols] = prev_xy.take(rows, axis=0)
        det_prev_area[cols] = prev_area[rows]
        parts = FrameParts(
            det_xy=det_xy,
            det_area=det.area_px,
            det_prev_xy=det_prev_xy,
            det_prev_area=det_prev_area,
            ended_xy=prev_xy[ended],
            ended_area=prev_area[ended],
        )
        cfg = self.config
        tol = min(0.9, 2.0 * cfg.merge_volume_tolerance)  # loose: the decision uses averages
        ids = self._ids
        deadline = frame + min(cfg.merge_confirm_frames, cfg.max_gap)
        used_dets: set[int] = set()
        used_ended: set[int] = set()
        for mg in find_merges(parts, tol, cfg.merge_max_gap_px, tree):
            child = int(det_track[mg.det])
            parent_rows = [int(ended[a]) for a in mg.ended] + ([child] if mg.with_linked else [])
            if not self._claim({int(ids[r]) for r in parent_rows} | {int(ids[child])}):
                continue
            used_dets.add(mg.det)
            used_ended.update(mg.ended)
            survivor = int(ids[child]) if mg.with_linked else 0
            if not survivor:
                self._no_appear.add(int(ids[child]))
            self._pending.append(
                PendingEvent(
                    kind="merge",
                    frame=frame,
                    t_s=t,
                    x=float(det.x[mg.det]),
                    y=float(det.y[mg.det]),
                    parents=tuple(int(ids[r]) for r in parent_rows),
                    children=(int(ids[child]),),
                    survivor=survivor,
                    parent_volumes=tuple(float(volume(prev_area[r])) for r in parent_rows),
                    deadline=deadline,
                    child_area_sum=[0.0],
                    child_area_count=[0],
                )
            )
        for sp in find_splits(parts, tol, cfg.merge_max_gap_px, tree):
            if set(sp.dets) & used_dets or (sp.ended is not None and sp.ended in used_ended):
                continue
            parent = int(ended[sp.ended]) if sp.ended is not None else int(det_track[sp.dets[0]])
            children = [int(ids[det_track[j]]) for j in sp.dets]
            if not self._claim({int(ids[parent]), *children}):
                continue
            survivor = int(ids[parent]) if sp.ended is None else 0
            self._no_appear.update(c for c in children if c != survivor)
            self._pending.append(
                PendingEvent(
                    kind="split",
                    frame=frame,
                    t_s=t,
                    x=float(prev_xy[parent, 0]),
                    y=float(prev_xy[parent, 1]),
                    parents=(int(ids[parent]),),
                    children=tuple(children),
                    survivor=survivor,
                    parent_volumes=(float(volume(prev_area[parent])),),
                    deadline=deadline,
                    child_area_sum=[0.0, 0.0],
                    child_area_count=[0, 0],
                )
            )

    def _claim(self, track_ids: set[int]) -> bool:
        """Reserve tracks for one pending event; False when one is already part of another."""
        if track_ids & self._busy:
            return False
        self._busy |= track_ids
        return True

    def _accumulate_pending(self, frame: int, row_of: dict[int, int]) -> None:
        """Add this frame's areas of every pending event's children (row_of: `_rows_of_busy()`)."""
        for p in self._pending:
            for k, cid in enumerate(p.children):
                row = row_of.get(cid, -1)
                if row >= 0 and self._last_seen[row] == frame:
                    p.child_area_sum[k] += float(self._last_area[row])
                    p.child_area_count[k] += 1

    def _resolve_pending(
        self,
        frame: int,
        t: float,
        everything: bool = False,
        row_of: dict[int, int] | None = None,
    ) -> tuple[list[TrackEvent], set[int]]:
        """Confirm or drop the pending events due now; return events and rows to retire.

        row_of: `_rows_of_busy()` when already computed for the current ids and pending events.
        """
        events: list[TrackEvent] = []
        retired: set[int] = set()
        due = [p for p in self._pending if everything or p.deadline <= frame]
        if not due:
            return events, retired
        self._pending = [p for p in self._pending if not (everything or p.deadline <= frame)]
        if row_of is None:
            row_of = self._rows_of_busy()
        for p in due:
            self._busy -= p.track_ids()
            relinked = any(
                (r := row_of.get(pid, -1)) >= 0 and self._last_seen[r] >= p.frame
                for pid in p.parents
                if pid != p.survivor
            )
            accepted = not relinked and pending_verdict(p, self.config.merge_volume_tolerance)
            if accepted:
                events.append(self._accept(p, retired, row_of))
            else:
                events += self._drop(p, t, row_of)
        return events, retired

    def _accept(self, p: PendingEvent, retired: set[int], row_of: dict[int, int]) -> TrackEvent:
        """Apply a confirmed merge/split: end the parents, new ids for survivors; return the event.

        row_of: {track id: live row} of every track of the pending events (`_rows_of_busy()`);
        events never share a track, so relabelling this event's survivor leaves the others valid.
        """
        for pid in p.parents:
            row = row_of.get(pid, -1)
            if pid != p.survivor and row >= 0:
                retired.add(row)
        children = list(p.children)
        if p.survivor and self.config.new_id_on_merge:
            row = row_of.get(p.survivor, -1)
            if row >= 0:
                new_id = self._next_id
                self._next_id += 1
                self._ids[row] = new_id
                self._history.relabel(p.survivor, new_id, p.frame)
                children = [new_id if c == p.survivor else c for c in children]
        for old_id, cid in zip(p.children, children, strict=True):
            self._no_appear.discard(cid)
            row = row_of.get(old_id, -1)
            if row >= 0:
                self._confirmed[row] = True
                self._hits[row] = max(int(self._hits[row]), self.config.min_hits)
                self._ever_confirmed.add(cid)
        return TrackEvent(
            kind=p.kind,  # type: ignore[arg-type]
            frame=p.frame,
            t_s=p.t_s,
            parents=tuple(sorted(p.parents)),
            children=tuple(sorted(children)),
            x=p.x,
            y=p.y,
        )

    def _drop(self, p: PendingEvent, t: float, row_of: dict[int, int]) -> list[TrackEvent]:
        """Forget a rejected event; children already confirmed get their delayed appear event
        (row_of: as for `_accept`)."""
        events = []
        for cid in p.children:
            if cid in self._no_appear:
                self._no_appear.discard(cid)
                row = row_of.get(cid, -1)
                if row >= 0 and self._confirmed[row]:
                    events.append(self._appear_event(row, t))
        return events

    def _appear_event(self, row: int, t: float) -> TrackEvent:
        first = int(self._first[row])
        t_first = self._times[first] if first < len(self._times) else t
        xy = self._first_xy[row]
        tid = int(self._ids[row])
        return TrackEvent("appear", first, t_first, (), (tid,), float(xy[0]), float(xy[1]))

    def _confirm(self, frame: int, t: float) -> list[TrackEvent]:
        """Confirm tentative tracks with enough hits; return their appear events (frame = birth).

        Products of a pending merge/split get no appear event (the event itself announces them).
        """
        newly = np.nonzero(~self._confirmed & (self._hits >= self.config.min_hits))[0]
        if newly.size == 0:
            return []
        self._confirmed[newly] = True
        ids = self._ids[newly].tolist()
        self._ever_confirmed.update(ids)
        firsts = self._first[newly].tolist()
        xys = self._first_xy[newly].tolist()
        times, n_times = self._times, len(self._times)
        return [
            TrackEvent(
                "appear", first, times[first] if first < n_times else t, (), (tid,), xy[0], xy[1]
            )
            for tid, first, xy in zip(ids, firsts, xys, strict=True)
            if tid not in self._no_appear
        ]

    def _coasting(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ids and predicted (x, y) px of live confirmed tracks missed in the current frame."""
        rows = np.flatnonzero(self._confirmed & (self._misses > 0))
        xy = stack_columns(self._x[rows, 0], self._x[rows, 2])
        if self._field_shape is not None:
            h, w = self._field_shape
            inside = (xy[:, 0] >= 0) & (xy[:, 1] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] <= h - 1)
            rows, xy = rows[inside], xy[inside]
        return self._ids[rows].astype(np.int64), xy

    def _delete(self, retired: set[int], frame: int, t: float) -> list[TrackEvent]:
        """Remove retired and expired tracks; return disappear events of expired confirmed tracks."""
        c = self.config
        gone = np.zeros(self._ids.size, bool)
        gone[list(retired)] = True
        limit = np.where(self._confirmed, c.max_gap, c.max_gap_tentative)
        expired = (self._misses > limit) & ~gone
        events = [
            self._disappear_event(int(r), "", frame, t)
            for r in np.nonzero(expired & self._confirmed)[0]
        ]
        keep = np.nonzero(~(expired | gone))[0]
        if keep.size < self._ids.size:
            for name in _LIVE_ARRAYS:  # take: faster than fancy indexing of 2-D/3-D arrays
                setattr(self, name, getattr(self, name).take(keep, axis=0))
        return events

    def _disappear_event(self, row: int, reason: str, frame: int, t: float) -> TrackEvent:
        gone = int(self._last_seen[row]) + 1
        xy = self._last_xy[row]
        if not reason and self._near_edge(self._x[row, 0], self._x[row, 2]):
            reason = "left_field"
        t_gone = self._times[gone] if gone < len(self._times) else t
        return TrackEvent(
            kind="disappear",
            frame=gone,
            t_s=t_gone,
            parents=(int(self._ids[row]),),
            children=(),
            x=float(xy[0]),
            y=float(xy[1]),
            reason=reason,
        )

    def _near_edge(self, x: float, y: float) -> bool:
        if self._field_shape is None:
            return False
        rows, cols = self._field_shape
        m = self.config.edge_margin_px
        return bool(x < m or y < m or x > cols - 1 - m or y > rows - 1 - m)
