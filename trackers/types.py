"""Messages of the tracker: the detections of one frame in, the track ids and events of that frame out.

Conventions: positions in px, x = column, y = row, origin at the centre of the top-left pixel; areas in
px^2; time in s. Track ids are int64 >= 1, never reused within one `Tracker`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

EventKind = Literal["appear", "disappear", "merge", "split"]
EVENT_KINDS: tuple[str, ...] = ("appear", "disappear", "merge", "split")


def _as_float_column(name: str, values: object, n: int | None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"detections.{name} has {arr.shape[0]} values, expected {n}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"detections.{name} contains NaN or infinite values")
    return arr


@dataclass(frozen=True)
class Detections:
    """The particles found in one frame.

    x: centroid column (px), y: centroid row (px), area_px: projected area (px^2, > 0),
    label: the label value of each particle in the frame's label image (int; 0 when unknown).
    All arrays have the same length (0 for an empty frame).
    """

    x: np.ndarray
    y: np.ndarray
    area_px: np.ndarray
    label: np.ndarray

    def __post_init__(self) -> None:
        x = _as_float_column("x", self.x, None)
        n = x.shape[0]
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", _as_float_column("y", self.y, n))
        area = _as_float_column("area_px", self.area_px, n)
        if np.any(area <= 0):
            raise ValueError("detections.area_px must be > 0")
        object.__setattr__(self, "area_px", area)
        label = np.asarray(self.label).reshape(-1).astype(np.int64)
        if label.shape[0] != n:
            raise ValueError(f"detections.label has {label.shape[0]} values, expected {n}")
        object.__setattr__(self, "label", label)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @classmethod
    def empty(cls) -> Detections:
        """Return detections of a frame without particles."""
        z = np.zeros(0)
        return cls(x=z, y=z, area_px=z, label=np.zeros(0, np.int64))

    @classmethod
    def from_arrays(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        area_px: np.ndarray | None = None,
        label: np.ndarray | None = None,
    ) -> Detections:
        """Return detections from coordinate arrays; area defaults to 1 px^2, label to 1..N."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        n = x.shape[0]
        area = np.ones(n) if area_px is None else area_px
        lab = np.arange(1, n + 1) if label is None else label
        return cls(x=x, y=np.asarray(y, dtype=np.float64), area_px=area, label=lab)

    @classmethod
    def from_table(cls, table: Mapping[str, np.ndarray]) -> Detections:
        """Return detections from a particle table (columns `x`, `y`, `area_px`, optional `label`)."""
        missing = [k for k in ("x", "y", "area_px") if k not in table]
        if missing:
            raise ValueError(f"particle table lacks column(s) {', '.join(missing)}")
        n = np.asarray(table["x"]).reshape(-1).shape[0]
        label = table["label"] if "label" in table else np.arange(1, n + 1)
        return cls(x=table["x"], y=table["y"], area_px=table["area_px"], label=label)

    @property
    def diameter_px(self) -> np.ndarray:
        """Equivalent-circle diameter (px) of each detection."""
        return np.sqrt(4.0 * self.area_px / np.pi)


@dataclass(frozen=True)
class TrackEvent:
    """Something that happened to tracks.

    kind: "appear" (a track was confirmed; frame = its first frame), "disappear" (a confirmed track was
        deleted; frame = the first frame it was missing), "merge" (parents ended, children continue or
        start; frame = first frame of the merged particle), "split" (the reverse).
    frame: frame index; t_s: time of that frame (s); parents/children: track ids; x, y: position (px) of the
        event (the child of a merge, the parent of a split, the track for appear/disappear).
    reason: free detail, e.g. "left_field" for a track that disappeared at the edge, "end" at finish().

    Events are reported in the `TrackUpdate` of the frame where they are decided, which can be later
    than `frame`: appear when the track is confirmed (min_hits - 1 frames later), disappear after
    max_gap missed frames, merge/split merge_confirm_frames later.
    """

    kind: EventKind
    frame: int
    t_s: float
    parents: tuple[int, ...]
    children: tuple[int, ...]
    x: float
    y: float
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}, not {self.kind!r}")


@dataclass(frozen=True)
class TrackUpdate:
    """The tracker's answer for one frame.

    frame: frame index (0-based count of `update` calls); track_ids: int64 (N,), the track id (>= 1) of
    each detection, aligned with the input; confirmed: bool (N,), True where that track is confirmed;
    events: events decided at this frame (see TrackEvent for their dating); active_tracks: tracks alive after this frame (matched or coasting,
    tentative included); drift_px: estimated stage drift (dx, dy) of this frame against the previous (px).
    coasting_ids, coasting_xy: confirmed tracks that were not detected in this frame but are still
    alive (missed at most `max_gap` frames in a row): their ids (int64 (M,)) and Kalman-predicted
    positions (float (M, 2), x = column, y = row, px, this frame's coordinates), only those inside the
    field of view when it is known; `tracked_count` adds them to the confirmed detections, a live count
    that does not flicker with a missed detection.
    """

    frame: int
    track_ids: np.ndarray
    confirmed: np.ndarray
    events: list[TrackEvent]
    active_tracks: int
    drift_px: tuple[float, float] = field(default=(0.0, 0.0))
    coasting_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    coasting_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def tracked_count(self) -> int:
        """Particles the tracker holds in view: detections of confirmed tracks + coasting tracks."""
        return int(np.count_nonzero(self.confirmed)) + int(self.coasting_ids.size)
