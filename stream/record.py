"""Writes results to a session folder: particles.csv, frames.csv, events.csv, optional TIFF stacks.

Rows are appended and flushed as each frame completes, so a killed process loses nothing already
processed. ``serve`` and ``analyze`` write the same tables (``source`` is the series name for a
stream, the input file name for a file; ``frame`` is the seq / the 0-based frame index):

- particles.csv: ``source, frame, t_s`` then the particle table (``track_id, label, x, y, area_px``,
  morphology columns in px and, when calibrated, nm); x = column, y = row, px, origin at the centre of
  the top-left pixel.
- frames.csv: ``source, frame, t_s, count, active_tracks`` then the frame metrics (list-valued
  metrics such as histograms as numbers joined with ``;``), then ``tracked_count``.
- events.csv: ``source, kind, frame, t_s, parents, children, x, y, reason`` (ids joined with ``;``).
- labels/<source>.tif (optional): int32 instance labels, one page per frame, values = ``label``.
- raw/<source>.tif (optional): the frames as received.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import tifffile
from nanolive.trackers import TrackEvent

from .pipeline import FrameResult

log = logging.getLogger(__name__)

PARTICLE_KEYS: tuple[str, ...] = (
    "source",
    "frame",
    "t_s",
    "track_id",
    "label",
    "x",
    "y",
    "area_px",
)
FRAME_KEYS: tuple[str, ...] = ("source", "frame", "t_s", "count", "active_tracks")
EVENT_COLUMNS: tuple[str, ...] = (
    "source",
    "kind",
    "frame",
    "t_s",
    "parents",
    "children",
    "x",
    "y",
    "reason",
)


def safe_stem(name: str) -> str:
    """Return ``name`` reduced to a safe file stem (letters, digits, ``._-``)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return stem or "series"


def cell(value: object) -> object:
    """Return a CSV cell: floats with full precision, bools as 0/1, None as empty, lists joined
    with ``;`` (histogram counts and edges in frames.csv)."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, list | tuple | np.ndarray):
        return ";".join(str(cell(v)) for v in value)
    return value


class CsvTable:
    """An append-only CSV file: key columns first, then the other columns in order of appearance.

    A row with a column the header lacks (e.g. ``_nm`` columns once a calibrated frame arrives)
    widens the table: the file is rewritten once with the wider header, earlier rows left blank there.
    """

    def __init__(self, path: Path, key_columns: tuple[str, ...]) -> None:
        self.path = path
        self.key_columns = key_columns
        self.columns: list[str] | None = None
        self._file: IO[str] | None = None
        self._writer: Any = None

    def write_rows(self, rows: list[Mapping[str, object]]) -> None:
        """Append ``rows`` and flush."""
        if not rows:
            return
        if self.columns is None:
            self._open(list(self.key_columns))
        assert self.columns is not None and self._file is not None
        new = [k for row in rows for k in row if k not in self.columns]
        if new:
            self._widen(list(dict.fromkeys(new)))
        for row in rows:
            self._writer.writerow([cell(row.get(k)) for k in self.columns])
        self._file.flush()

    def write_columns(self, columns: Mapping[str, list[object]]) -> None:
        """Append the rows given column-wise (cells already formatted, all lists of equal length)
        and flush; the fast path for particle tables."""
        n = len(next(iter(columns.values()), []))
        if n == 0:
            return
        if self.columns is None:
            self._open(list(self.key_columns))
        assert self.columns is not None and self._file is not None
        new = [k for k in columns if k not in self.columns]
        if new:
            self._widen(new)
        blank = [""] * n
        self._writer.writerows(zip(*(columns.get(k, blank) for k in self.columns), strict=True))
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self, columns: list[str]) -> None:
        self.columns = columns
        self._file = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(columns)

    def _widen(self, new: list[str]) -> None:
        assert self.columns is not None
        self.close()
        with self.path.open(newline="", encoding="utf-8") as fh:
            old_rows = list(csv.reader(fh))[1:]
        pad = [""] * len(new)
        self._open(self.columns + new)
        for row in old_rows:
            self._writer.writerow(row + pad)


def column_cells(values: object, n: int) -> list[object]:
    """Return the CSV cells of one table column of ``n`` rows (as :func:`cell`, vectorised by dtype)."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        return [cell(values)] * n
    if arr.dtype.kind == "b":
        return arr.astype(np.int64).tolist()
    if arr.dtype.kind in "iu":
        return arr.tolist()
    if arr.dtype.kind == "f":
        return list(map(repr, arr.astype(np.float64).tolist()))
    return [cell(v) for v in arr]


def particle_columns(result: FrameResult, source: str, frame: int) -> dict[str, list[object]]:
    """Return the particles.csv columns of ``result`` (one cell per particle)."""
    n = result.count
    columns: dict[str, list[object]] = {
        "source": [source] * n,
        "frame": [frame] * n,
        "t_s": [cell(result.t_s)] * n,
    }
    for name, col in result.particles.items():
        columns[name] = column_cells(col, n)
    return columns


def frame_row(result: FrameResult, source: str, frame: int) -> dict[str, object]:
    """Return the frames.csv row of ``result``."""
    row: dict[str, object] = {
        "source": source,
        "frame": frame,
        "t_s": result.t_s,
        "count": result.count,
        "active_tracks": result.active_tracks,
    }
    row.update(result.metrics)
    row["tracked_count"] = (
        result.tracked_count
    )  # added after the metrics: columns only grow at the end
    return row


def event_row(event: TrackEvent, source: str) -> dict[str, object]:
    """Return the events.csv row of ``event``."""
    return {
        "source": source,
        "kind": event.kind,
        "frame": event.frame,
        "t_s": event.t_s,
        "parents": ";".join(str(p) for p in event.parents),
        "children": ";".join(str(c) for c in event.children),
        "x": event.x,
        "y": event.y,
        "reason": event.reason,
    }


class SessionRecorder:
    """Appends every result of a run to ``folder`` (see the module docstring for the layout)."""

    def __init__(self, folder: Path, save_labels: bool = False, save_raw: bool = False) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.save_labels = save_labels
        self.save_raw = save_raw
        self.particles = CsvTable(self.folder / "particles.csv", PARTICLE_KEYS)
        self.frames = CsvTable(self.folder / "frames.csv", FRAME_KEYS)
        self.events = CsvTable(self.folder / "events.csv", EVENT_COLUMNS)
        self._stacks: dict[tuple[str, str], tifffile.TiffWriter] = {}

    def write_result(
        self,
        result: FrameResult,
        source: str | None = None,
        frame: int | None = None,
        raw: np.ndarray | None = None,
        stack_name: str | None = None,
    ) -> None:
        """Append ``result`` and flush.

        ``source`` defaults to the series, ``frame`` to the seq; ``stack_name`` names the TIFF stacks
        (labels/<stack_name>.tif, raw/<stack_name>.tif; default: the source).
        """
        src = result.series if source is None else source
        index = result.seq if frame is None else frame
        self.particles.write_columns(particle_columns(result, src, index))
        self.frames.write_rows([frame_row(result, src, index)])
        self.write_events(src, list(result.events))
        stack = src if stack_name is None else stack_name
        if self.save_labels:
            self._append_page("labels", stack, result.labels.astype(np.int32, copy=False))
        if self.save_raw and raw is not None:
            self._append_page("raw", stack, raw)

    def write_events(self, source: str, events: list[TrackEvent]) -> None:
        """Append track events of ``source`` and flush."""
        self.events.write_rows([event_row(e, source) for e in events])

    def close_source(self, stack_name: str) -> None:
        """Close the TIFF stacks named ``stack_name`` (a later frame of it starts a new file)."""
        for kind in ("labels", "raw"):
            writer = self._stacks.pop((kind, stack_name), None)
            if writer is not None:
                writer.close()

    def close(self) -> None:
        """Close every file; an events.csv with only its header is written even without events."""
        for writer in self._stacks.values():
            writer.close()
        self._stacks.clear()
        for table in (self.particles, self.frames):
            table.close()
        if self.events.columns is None:
            with (self.folder / "events.csv").open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerow(EVENT_COLUMNS)
        self.events.close()
        for table, keys in ((self.particles, PARTICLE_KEYS), (self.frames, FRAME_KEYS)):
            if table.columns is None:
                with table.path.open("w", newline="", encoding="utf-8") as fh:
                    csv.writer(fh).writerow(keys)

    def _append_page(self, kind: str, stack_name: str, page: np.ndarray) -> None:
        key = (kind, stack_name)
        writer = self._stacks.get(key)
        if writer is None:
            folder = self.folder / kind
            folder.mkdir(exist_ok=True)
            path = folder / f"{safe_stem(stack_name)}.tif"
            n = 1
            while path.exists():  # a series name used again: never overwrite
                n += 1
                path = folder / f"{safe_stem(stack_name)}-{n}.tif"
            writer = tifffile.TiffWriter(path)
            self._stacks[key] = writer
        writer.write(page, contiguous=True)
