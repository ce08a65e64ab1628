"""Writing a simulated series to disk: TIFF stacks for frames, labels and masks, CSV tables.

Layout of ``out_dir``: frames.tif (float32, T x H x W detector counts), labels.tif (int32, T x H x W
track ids), masks.tif (uint8, only for sparse scans), particles.csv (one row per particle and frame,
columns ``frame``, ``t_s`` then the particle table), events.csv (``frame``, ``kind``, ``parents``,
``children``; ids joined by ";"), config.json (the SimConfig, the seed and the pixel size).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import tifffile

from .config import SimConfig
from .frames import SimFrame


@dataclass(frozen=True)
class DatasetSummary:
    """What was written: frame count, rows of particles.csv, events by kind, the output folder."""

    n_frames: int
    n_particle_rows: int
    n_events: dict[str, int]
    out_dir: Path


def write_dataset(
    frames: Iterable[SimFrame], out_dir: Path, config: SimConfig, seed: int | None
) -> DatasetSummary:
    """Write ``frames`` to ``out_dir`` (created if missing) and return a summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    n_frames = 0
    n_rows = 0
    n_events: dict[str, int] = {}
    header: list[str] | None = None
    with (
        tifffile.TiffWriter(out_dir / "frames.tif", bigtiff=True) as tif_frames,
        tifffile.TiffWriter(out_dir / "labels.tif", bigtiff=True) as tif_labels,
        open(out_dir / "particles.csv", "w", newline="") as f_particles,
        open(out_dir / "events.csv", "w", newline="") as f_events,
    ):
        particles_csv = csv.writer(f_particles)
        events_csv = csv.writer(f_events)
        events_csv.writerow(["frame", "kind", "parents", "children"])
        tif_masks: tifffile.TiffWriter | None = None
        for frame in frames:
            tif_frames.write(frame.image, contiguous=True)
            tif_labels.write(frame.labels, contiguous=True)
            if frame.mask is not None:
                if tif_masks is None:
                    tif_masks = tifffile.TiffWriter(out_dir / "masks.tif", bigtiff=True)
                tif_masks.write(frame.mask, contiguous=True)
            columns = list(frame.particles)
            if header is None:
                header = ["frame", "t_s", *columns]
                particles_csv.writerow(header)
            for row in zip(*(frame.particles[c] for c in columns), strict=True):
                particles_csv.writerow([frame.index, f"{frame.t_s:.6g}", *map(_cell, row)])
                n_rows += 1
            for e in frame.events:
                events_csv.writerow([e.frame, e.kind, _ids(e.parents), _ids(e.children)])
                n_events[e.kind] = n_events.get(e.kind, 0) + 1
            n_frames += 1
        if tif_masks is not None:
            tif_masks.close()
    meta = {"seed": seed, "n_frames": n_frames, "config": asdict(config)}
    (out_dir / "config.json").write_text(json.dumps(meta, indent=2))
    return DatasetSummary(n_frames, n_rows, n_events, out_dir)


def _cell(value: object) -> str:
    """Return a CSV cell: floats with 7 significant digits, booleans as 0/1."""
    if isinstance(value, np.bool_ | bool):
        return str(int(value))
    if isinstance(value, np.floating | float):
        return f"{float(value):.7g}"
    return str(value)


def _ids(ids: tuple[int, ...]) -> str:
    """Return track ids joined by ";"."""
    return ";".join(str(i) for i in ids)
