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

    The changes of one step are grouped into connected families (a child that changes again within
    the step joins its parents' family). A family with several particles of the previous frame and
    one surviving particle is a merge; one previous particle and several survivors a split. It is
    reported when all its previous particles were visible before and all its survivors are visible
    now; otherwise (and for mixed families) its visible ends are reported as disappear / appear.
    """
    parent_of: dict[int, int] = {}

    def root(i: int) -> int:
        while parent_of.setdefault(i, i) != i:
            parent_of[i] = parent_of[parent_of[i]]
            i = parent_of[i]
        return i

    created: set[int] = set()
    consumed: set[int] = set()
    for change in lineage:
        members = [*change.parents, *change.children]
        for other in members[1:]:
            parent_of[root(other)] = root(members[0])
        created.update(change.children)
        consumed.update(change.parents)
    families: dict[int, tuple[set[int], set[int]]] = {}
    for i in list(parent_of):
        old, new = families.setdefault(root(i), (set(), set()))
        if i not in created:
            old.add(i)
        if i not in consumed:
            new.add(i)
    events: list[SimEvent] = []
    explained_before: set[int] = set()
    explained_after: set[int] = set()
    for old, new in sorted(families.values(), key=lambda f: sorted(f[0] | f[1])):
        if not old <= before or not new <= after:
            continue
        if len(old) >= 2 and len(new) == 1:
            events.append(SimEvent("merge", frame, tuple(sorted(old)), tuple(sorted(new))))
        elif len(old) == 1 and len(new) >= 2:
            events.append(SimEvent("split", frame, tuple(sorted(old)), tuple(sorted(new))))
        else:
            continue
        explained_before |= old
        explained_after |= new
    for gone in sorted(before - after - explained_before):
        events.append(SimEvent("disappear", frame, (gone,), ()))
    for new_id in sorted(after - before - explained_after):
        events.append(SimEvent("appear", frame, (), (new_id,)))
    return events
