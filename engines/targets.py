"""Training targets from instance labels: the foreground and the core maps the network learns.

Core = the pixels of an instance at least ``d`` px from its border and from any touching instance, with
``d = clip(core_fraction * (the instance's largest inner distance), 1, core_max_px)``; so touching
particles have cores separated by >= 2 px gaps and small particles keep a core.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .postprocess import equivalent_diameters_of_areas

CORE_MAX_PX = 3.0
CORE_FRACTION = 0.5


def separation_pixels(labels: np.ndarray) -> np.ndarray:
    """Return a bool map of labelled pixels that touch a different non-zero label (4-neighbourhood)."""
    sep = np.zeros(labels.shape, dtype=bool)
    for axis in (0, 1):
        a = np.swapaxes(labels, 0, axis)
        s = np.swapaxes(sep, 0, axis)
        diff = (a[1:] != a[:-1]) & (a[1:] > 0) & (a[:-1] > 0)
        s[1:] |= diff
        s[:-1] |= diff
    return sep


def core_map(
    labels: np.ndarray, core_max_px: float = CORE_MAX_PX, core_fraction: float = CORE_FRACTION
) -> np.ndarray:
    """Return the bool core map of int instance labels (H, W) (see the module docstring)."""
    fg = labels > 0
    if not fg.any():
        return fg
    inner = fg & ~separation_pixels(labels)
    dist = ndi.distance_transform_edt(inner)
    n = int(labels.max())
    max_dist = np.zeros(n + 1, dtype=np.float64)
    max_dist[1:] = ndi.maximum(dist, labels, index=np.arange(1, n + 1))
    threshold = np.clip(core_fraction * max_dist, 1.0, core_max_px)
    return inner & (dist >= threshold[labels])


def targets_from_labels(labels: np.ndarray) -> np.ndarray:
    """Return float32 targets (2, H, W): foreground and core (0/1) of instance labels (H, W)."""
    return np.stack([labels > 0, core_map(labels)]).astype(np.float32)


#: Instances narrower than this (equivalent diameter, px) count as small for the loss weight.
SMALL_DIAMETER_PX = 12.0
#: The weighted region reaches this far (px) outside a small instance, so its border is weighted on
#: both sides and the weight does not bias masks to grow.
SMALL_RING_PX = 2


def small_instance_region(
    labels: np.ndarray, max_diameter_px: float = SMALL_DIAMETER_PX, ring_px: int = SMALL_RING_PX
) -> np.ndarray:
    """Return a bool map (H, W) of the instances with equivalent diameter < ``max_diameter_px`` and
    the pixels within ``ring_px`` (px, square neighbourhood) around them."""
    areas = np.bincount(labels.ravel())
    small = equivalent_diameters_of_areas(areas) < max_diameter_px
    small[0] = False
    region = small[labels]
    if ring_px > 0 and region.any():
        region = ndi.binary_dilation(region, np.ones((3, 3), bool), iterations=ring_px)
    return region


def loss_weight_map(labels: np.ndarray, small_weight: float) -> np.ndarray:
    """Return the float32 per-pixel loss weight (H, W): 1 + ``small_weight`` on
    :func:`small_instance_region`, 1 elsewhere."""
    if small_weight == 0:
        return np.ones(labels.shape, np.float32)
    return (1.0 + small_weight * small_instance_region(labels)).astype(np.float32)
