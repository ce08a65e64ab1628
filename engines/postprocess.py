"""Pre- and post-processing shared by every neural backend (pure numpy/scipy, no framework).

Pre: robust per-frame intensity scaling, padding to a multiple of the network stride.
Post: network logits (foreground, core) -> int32 instance labels: each connected core becomes a seed,
a watershed grows it over the foreground; foreground blobs without a seed become an instance each;
instances smaller than ``min_area_px`` are dropped.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed

NORM_PERCENTILES: tuple[float, float] = (0.5, 99.5)


def normalise_frame(image: np.ndarray) -> np.ndarray:
    """Return the frame scaled so its 0.5th..99.5th percentiles map to -1..1, clipped to -2..2.

    The percentiles come from a 1-in-4 subsample along each axis (fast, and robust to hot pixels).
    A constant frame maps to zeros. Contrast (bright or dark particles) is kept: the network learned both.
    """
    img = np.asarray(image, dtype=np.float32)
    sample = img[::4, ::4] if min(img.shape) >= 64 else img
    lo, hi = np.percentile(sample, NORM_PERCENTILES)
    span = float(hi - lo)
    if not np.isfinite(span) or span <= 0:
        return np.zeros(img.shape, dtype=np.float32)
    out = (img - np.float32(lo)) * np.float32(2.0 / span) - np.float32(1.0)
    return np.clip(out, -2.0, 2.0, out=out)


def normalise_batch(batch: np.ndarray) -> np.ndarray:
    """Return a (B, 1, H, W) float32 network input from (B, H, W) frames."""
    return np.stack([normalise_frame(f) for f in batch])[:, None]


def pad_to_multiple(batch: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Return (B, C, H', W') reflect-padded at the bottom/right to multiples of ``multiple`` and (H, W)."""
    h, w = batch.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return batch, (h, w)
    mode = "reflect" if ph < h and pw < w else "edge"
    padded = np.pad(batch, ((0, 0), (0, 0), (0, ph), (0, pw)), mode=mode)
    return padded, (h, w)


def relabel_without_small(labels: np.ndarray, min_area_px: int) -> np.ndarray:
    """Return labels renumbered 1..N after removing instances smaller than ``min_area_px`` (px)."""
    areas = np.bincount(labels.ravel())
    keep = areas >= min_area_px
    keep[0] = False
    lut = np.zeros(areas.size, dtype=np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


def instances_from_logits(logits: np.ndarray, min_area_px: int = 4) -> np.ndarray:
    """Return int32 instance labels (H, W) from logits (2, H, W): foreground and core channels.

    A pixel is foreground where its foreground logit > 0; seeds are connected components of foreground
    pixels whose core logit > 0 (8-connectivity). A watershed on the negated core logit grows the seeds
    over the foreground, so touching particles split where the core evidence is lowest; foreground
    blobs that no seed reaches become one instance each.
    """
    if logits.ndim != 3 or logits.shape[0] != 2:
        raise ValueError(f"expected logits of shape (2, H, W), got {logits.shape}")
    fg = logits[0] > 0
    if not fg.any():
        return np.zeros(fg.shape, dtype=np.int32)
    eight = np.ones((3, 3), dtype=bool)
    seeds, n_seeds = ndi.label(fg & (logits[1] > 0), structure=eight)
    if n_seeds:
        labels = watershed(-logits[1], seeds, mask=fg).astype(np.int32)
    else:
        labels = np.zeros(fg.shape, dtype=np.int32)
    orphan = fg & (labels == 0)
    if orphan.any():
        extra, _ = ndi.label(orphan, structure=eight)
        labels = np.where(extra > 0, extra + n_seeds, labels).astype(np.int32)
    return relabel_without_small(labels, min_area_px)
