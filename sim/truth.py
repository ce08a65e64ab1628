"""Ground truth: the particle table measured on the labels, and events from one frame to the next."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import shapes
from .frames import SimEvent, Table
from .population import Particles


@dataclass(frozen=True)
class Lineage:
    """A physical identity change in the state: ``kind`` "merge" or "split", parents -> children."""

    kind: str
    parents: tuple[int, ...]
    children: tuple[int, ...]


def particle_table(labels: np.ndarray, p: Particles, pixel_size_nm: float) -> Table:
    """Return one row per label value in ``labels`` (sorted by track id), joined with the 3-D state.

    Measured on the labels (px): x, y (centroid; x = column), area_px, diameter_equivalent_px,
    touches_edge. From the state: x_true_px, y_true_px (centre of the 3-D particle), radius and volume
    of the equivalent sphere (nm), semi_axis_{a,b,c}_nm (unrotated half extents, c along the beam),
    orientation_rad, shape, z_contrast. ``_nm`` variants of the measured sizes.
    """
    flat = labels.ravel()
    where = np.flatnonzero(flat)
    values = flat[where]
    cols = labels.shape[1]
    counts = np.bincount(values)
    ids = np.flatnonzero(counts)
    ids = ids[ids > 0]
    area = counts[ids]
    sum_x = np.bincount(values, weights=(where % cols).astype(np.float64))[ids]
    sum_y = np.bincount(values, weights=(where // cols).astype(np.float64))[ids]
    order = np.argsort(p.track_id)
    rows_in_state = order[np.searchsorted(p.track_id, ids, sorter=order)]
    if ids.size and not np.array_equal(p.track_id[rows_in_state], ids):
        raise RuntimeError("labels hold track ids that are not in the particle state")
    s = p.take(rows_in_state)
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    axes = shapes.semi_axes_batch(s.kind, s.radius_nm, s.p1, s.p2)
    diameter_px = 2 * np.sqrt(area / math.pi)
    return {
        "track_id": ids.astype(np.int64),
        "x": sum_x / np.maximum(area, 1),
        "y": sum_y / np.maximum(area, 1),
        "area_px": area.astype(np.int64),
        "diameter_equivalent_px": diameter_px,
        "area_nm2": area * pixel_size_nm**2,
        "diameter_equivalent_nm": diameter_px * pixel_size_nm,
        "touches_edge": np.isin(ids, edge),
        "x_true_px": s.x.copy(),
        "y_true_px": s.y.copy(),
        "radius_equivalent_nm": s.radius_nm.copy(),
        "volume_nm3": s.volume_nm3(),
        "semi_axis_a_nm": axes[:, 0],
        "semi_axis_b_nm": axes[:, 1],
        "semi_axis_c_nm": axes[:, 2],
        "orientation_rad": s.theta.copy(),
        "shape": np.array([shapes.KIND_NAMES[k] for k in s.kind], dtype="<U10"),
        "z_contrast": s.z_contrast.copy(),
    }


def frame_events(
    frame: int, before: set[int], after: set[int], lineage: list[Lineage]
) -> list[SimEvent]:
    """Return the events at ``frame`` from the visible ids before/after and the physical lineage.

    A merge (split) is reported when all its parents were visible before and its children (child)
    are visible now; otherwise its visible ends are reported as disappear / appear. A child that
    took part in a second change within the same step is traced back to the particles of the previous
    frame.
    """
    origin: dict[int, set[int]] = {}
    for change in lineage:
        roots: set[int] = set()
        for parent in change.parents:
            roots |= origin.pop(parent, {parent})
        for child in change.children:
            origin[child] = set(roots)
    events: list[SimEvent] = []
    explained_before: set[int] = set()
    explained_after: set[int] = set()
    groups: dict[tuple[int, ...], list[int]] = {}
    for child, roots in origin.items():
        groups.setdefault(tuple(sorted(roots)), []).append(child)
    for roots, children in sorted(groups.items()):
        children = sorted(children)
        if not set(roots) <= before or not set(children) <= after:
            continue
        if len(roots) >= 2 and len(children) == 1:
            events.append(SimEvent("merge", frame, roots, tuple(children)))
        elif len(roots) == 1 and len(children) >= 2:
            events.append(SimEvent("split", frame, roots, tuple(children)))
        else:
            continue
        explained_before |= set(roots)
        explained_after |= set(children)
    for gone in sorted(before - after - explained_before):
        events.append(SimEvent("disappear", frame, (gone,), ()))
    for new in sorted(after - before - explained_after):
        events.append(SimEvent("appear", frame, (), (new,)))
    return events
