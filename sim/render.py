"""Rendering: particles -> labels and Z-weighted projected thickness, each only on its own window.

Labels rule: where particles overlap in projection, a pixel belongs to the particle with the largest
projected thickness there (exact ties, which are rare, go to one of them). Thickness is sampled at pixel centres
through the scan geometry, so the labels are exactly the pixels where a particle has non-zero
thickness and is the thickest. Particles of one shape and similar window size are computed together
as one (n, h, w) array (vectorised), then scattered into the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import shapes
from .population import Particles
from .scan import ScanGeometry

#: Square window sizes (px) that particles are batched by (larger ones round up to a multiple of 32).
WINDOW_SIZES = np.array([8, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128])


@dataclass(frozen=True)
class Rendering:
    """Rendered particles.

    labels: int32 (H, W), track id of the thickest particle, 0 = none.
    signal_nm: float32 (H, W), sum over particles of Z-contrast factor x projected thickness (nm).
    footprint_px: int64 (n,), number of in-view pixels where each particle has non-zero thickness.
    visible_px: int64 (n,), number of pixels labelled with each particle.
    sample_pixel, sample_particle: flat pixel index and particle row of every (pixel, particle) pair
        with non-zero thickness.
    """

    labels: np.ndarray
    signal_nm: np.ndarray
    footprint_px: np.ndarray
    visible_px: np.ndarray
    sample_pixel: np.ndarray
    sample_particle: np.ndarray


def render_particles(
    p: Particles, pixel_size_nm: float, shape: tuple[int, int], scan: ScanGeometry
) -> Rendering:
    """Return the labels, Z-weighted thickness (nm) and footprints of all particles."""
    rows, cols = shape
    pix, part, thick = _samples(p, pixel_size_nm, shape, scan)
    footprint = np.bincount(part, minlength=len(p)).astype(np.int64)
    signal = np.zeros(rows * cols, dtype=np.float32)
    np.add.at(signal, pix, p.z_contrast[part].astype(np.float32) * thick)
    labels = np.zeros(rows * cols, dtype=np.int32)
    visible = np.zeros(len(p), dtype=np.int64)
    if pix.size:
        top = np.zeros(rows * cols, dtype=thick.dtype)
        np.maximum.at(top, pix, thick)
        thickest = thick == top[pix]
        # on exact ties the later sample wins (numpy assigns repeated indices in order)
        labels[pix[thickest]] = p.track_id[part[thickest]]
        # each labelled pixel counted once: for the sample whose particle got the label
        win_pix, win_part = pix[thickest], part[thickest]
        own = p.track_id[win_part] == labels[win_pix]
        visible = np.bincount(win_part[own], minlength=len(p)).astype(np.int64)
    return Rendering(
        labels=labels.reshape(shape),
        signal_nm=signal.reshape(shape),
        footprint_px=footprint,
        visible_px=visible,
        sample_pixel=pix,
        sample_particle=part,
    )


def occluder_of(rendering: Rendering, i: int, track_id: int) -> int:
    """Return the track id covering most of particle row ``i``'s footprint, other than itself (0 if
    none)."""
    under = rendering.labels.ravel()[rendering.sample_pixel[rendering.sample_particle == i]]
    under = under[(under != track_id) & (under > 0)]
    if under.size == 0:
        return 0
    ids, counts = np.unique(under, return_counts=True)
    return int(ids[np.argmax(counts)])


def _samples(
    p: Particles, pixel_size_nm: float, shape: tuple[int, int], scan: ScanGeometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (flat pixel, particle row, thickness nm) of every in-view pixel with thickness > 0."""
    rows, cols = shape
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(p) == 0:
        return empty
    r_px = p.radius_nm / pixel_size_nm
    reach = shapes.extents(p.kind, r_px, p.p1, p.p2) + 1.0
    slack = reach + scan.max_shift_px
    need = np.maximum(np.ceil(2 * reach) + 2, np.ceil(2 * slack) + 3)
    size = _window_size(need)
    r0 = np.floor(p.y - reach).astype(np.int64)
    c0 = np.searchsorted(scan.col_x, p.x - slack).astype(np.int64) - 1
    in_view = (r0 < rows) & (r0 + size > 0) & (c0 < cols) & (c0 + size > 0)
    groups: dict[int, list[int]] = {}
    for i in np.flatnonzero(in_view):
        groups.setdefault(int(size[i]), []).append(int(i))
    parts = [
        _group_samples(p, np.array(members), n, r0, c0, r_px, pixel_size_nm, shape, scan)
        for n, members in sorted(groups.items())
    ]
    if not parts:
        return empty
    return tuple(np.concatenate(a) for a in zip(*parts, strict=True))  # type: ignore[return-value]


def _window_size(need: np.ndarray) -> np.ndarray:
    """Return the batch window size (px) for each needed size: the next listed size, or 32 k."""
    index = np.searchsorted(WINDOW_SIZES, need)
    big = 32 * np.ceil(need / 32).astype(np.int64)
    return np.where(
        index < WINDOW_SIZES.size, WINDOW_SIZES[np.minimum(index, WINDOW_SIZES.size - 1)], big
    )


def _group_samples(
    p: Particles,
    sel: np.ndarray,
    size: int,
    r0: np.ndarray,
    c0: np.ndarray,
    r_px: np.ndarray,
    pixel_size_nm: float,
    shape: tuple[int, int],
    scan: ScanGeometry,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the samples of the particles ``sel`` on (size, size) windows starting at (r0, c0)."""
    rows, cols = shape
    rr = r0[sel, None] + np.arange(size)  # (n, size)
    cc = c0[sel, None] + np.arange(size)
    ok_r = (rr >= 0) & (rr < rows)
    ok_c = (cc >= 0) & (cc < cols)
    n = sel.size
    dy = (rr - p.y[sel, None]).astype(np.float32)[:, :, None]  # (n, size, 1)
    dx = (scan.col_x[np.clip(cc, 0, cols - 1)] - p.x[sel, None]).astype(np.float32)[:, None, :]
    if scan.has_jitter:
        dx = dx + scan.row_dx[np.clip(rr, 0, rows - 1)].astype(np.float32)[:, :, None]
    kinds = p.kind[sel]
    present = np.unique(kinds)
    if present.size == 1:
        t = shapes.thickness_batch(
            int(present[0]), r_px[sel], p.p1[sel], p.p2[sel], p.theta[sel], p.q[sel], dx, dy
        )
    else:
        t = np.empty((n, size, size), dtype=np.float32)
        for kind in present:
            m = np.flatnonzero(kinds == kind)
            k_sel = sel[m]
            t[m] = shapes.thickness_batch(
                int(kind), r_px[k_sel], p.p1[k_sel], p.p2[k_sel], p.theta[k_sel], p.q[k_sel],
                dx[m], dy[m],
            )  # fmt: skip
    valid = (t > 0) & ok_r[:, :, None] & ok_c[:, None, :]
    k, a, b = np.nonzero(valid)
    pix = rr[k, a] * cols + cc[k, b]
    return pix, sel[k], t[valid] * np.float32(pixel_size_nm)
