"""Compare our links with TrackMate's LAP tracker on the same spots (reference CSVs from laptrack).

The reference (yfukai/laptrack tests/data, TrackMate 6.0.1 SPARSE_LAP_TRACKER on FakeTracks.tif) gives
spots (`*_spots.csv`: id, frame, position_x, position_y, px) and the links TrackMate chose
(`*_edges.csv`: spot_source_id, spot_target_id). We feed the same spots, frame by frame, to `Tracker`
and turn its output into links: consecutive detections of one track (gaps included), and for each
merge (split) event, links from the parents' last spots to the child's first spot (from the parent's
last spot to the children's first spots).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import TrackerConfig
from .tracker import Tracker
from .types import Detections, TrackEvent

Link = tuple[int, int]


@dataclass(frozen=True)
class Spots:
    """Spots of a TrackMate file: id int64, frame int64, x, y float (px)."""

    id: np.ndarray
    frame: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class LinkComparison:
    """Links in both sets, only in the reference, only in ours (each a sorted list of (src, dst))."""

    common: list[Link]
    only_reference: list[Link]
    only_ours: list[Link]

    @property
    def agreement(self) -> float:
        """Shared links / links in either set (Jaccard index)."""
        total = len(self.common) + len(self.only_reference) + len(self.only_ours)
        return len(self.common) / total if total else 1.0


def read_spots(path: Path) -> Spots:
    """Return the spots of a `*_spots.csv` file."""
    with Path(path).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"id", "frame", "position_x", "position_y"} <= set(rows[0]):
        raise ValueError(f"{path} is not a TrackMate spots CSV (id, frame, position_x, position_y)")
    return Spots(
        id=np.array([int(r["id"]) for r in rows], np.int64),
        frame=np.array([int(r["frame"]) for r in rows], np.int64),
        x=np.array([float(r["position_x"]) for r in rows]),
        y=np.array([float(r["position_y"]) for r in rows]),
    )


def read_links(path: Path) -> set[Link]:
    """Return the links (source spot id, target spot id) of a `*_edges.csv` file."""
    with Path(path).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"spot_source_id", "spot_target_id"} <= set(rows[0]):
        raise ValueError(f"{path} is not a TrackMate edges CSV")
    return {(int(r["spot_source_id"]), int(r["spot_target_id"])) for r in rows}


def trackmate_like_config() -> TrackerConfig:
    """Return tracker settings matching the reference run: 15 px linking distance, frame gap 2
    (one missed frame), every spot starts a track at once, no drift (FakeTracks has none), a broad
    motion model so that the 15 px distance, not the Mahalanobis gate, is the limit."""
    return TrackerConfig(
        max_distance_px=15.0,
        diffusion_sigma_px=5.0,
        measurement_sigma_px=1.0,
        min_hits=1,
        max_gap=1,
        max_gap_tentative=1,
        drift="none",
        merge_confirm_frames=1,
    )


def track_spots(spots: Spots, config: TrackerConfig) -> tuple[set[Link], list[TrackEvent]]:
    """Track the spots frame by frame; return our links (spot ids) and events.

    Every spot gets the same area (TrackMate spots have a fixed radius), so volume-conserving merges
    and splits cannot be found from these spots.
    """
    tracker = Tracker(config)
    frames = np.arange(int(spots.frame.max()) + 1 if spots.frame.size else 0)
    seen: dict[int, int] = {}  # track id -> last spot id
    spot_of: dict[tuple[int, int], int] = {}  # (frame, track id) -> spot id
    links: set[Link] = set()
    events: list[TrackEvent] = []
    for f in frames:
        sel = np.flatnonzero(spots.frame == f)
        det = Detections.from_arrays(spots.x[sel], spots.y[sel], np.full(sel.size, 20.0))
        update = tracker.update(det)
        for tid, sid in zip(update.track_ids.tolist(), spots.id[sel].tolist(), strict=True):
            if tid in seen:
                links.add((seen[tid], sid))
            seen[tid] = sid
            spot_of[(int(f), tid)] = sid
        events += update.events
    events += tracker.finish()
    links |= _event_links(events, spot_of)
    return links, events


def _event_links(events: Iterable[TrackEvent], spot_of: dict[tuple[int, int], int]) -> set[Link]:
    """Links implied by merge and split events (parents' last spots -> children's first spots)."""
    last_spot: dict[int, int] = {}
    first_spot: dict[int, int] = {}
    for (_frame, tid), sid in sorted(spot_of.items()):
        last_spot[tid] = sid
        first_spot.setdefault(tid, sid)
    out: set[Link] = set()
    for e in events:
        if e.kind not in ("merge", "split"):
            continue
        for p in e.parents:
            for c in e.children:
                if p != c and p in last_spot and c in first_spot:
                    out.add((last_spot[p], first_spot[c]))
    return out


def compare_links(reference: set[Link], ours: set[Link]) -> LinkComparison:
    """Return the comparison of two link sets."""
    return LinkComparison(
        common=sorted(reference & ours),
        only_reference=sorted(reference - ours),
        only_ours=sorted(ours - reference),
    )


def link_kinds(
    links: Iterable[Link], spots: Spots, context: Iterable[Link] | None = None
) -> dict[str, int]:
    """Count links by kind: "frame" (t -> t+1), "gap" (longer), "merge" (into a spot with 2+
    incoming links), "split" (out of a spot with 2+ outgoing links); multiplicities are counted in
    `context` (default: `links` itself), e.g. the full reference when classifying its missing part."""
    frame_of = dict(zip(spots.id.tolist(), spots.frame.tolist(), strict=True))
    links = list(links)
    n_in: dict[int, int] = {}
    n_out: dict[int, int] = {}
    for s, t in links if context is None else context:
        n_out[s] = n_out.get(s, 0) + 1
        n_in[t] = n_in.get(t, 0) + 1
    kinds = {"frame": 0, "gap": 0, "merge": 0, "split": 0}
    for s, t in links:
        if n_in[t] > 1:
            kinds["merge"] += 1
        elif n_out[s] > 1:
            kinds["split"] += 1
        elif frame_of[t] - frame_of[s] > 1:
            kinds["gap"] += 1
        else:
            kinds["frame"] += 1
    return kinds
