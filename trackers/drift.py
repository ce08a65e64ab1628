"""Global stage drift between consecutive frames, from the images or from the detections.

A drift (dx, dy) in px is how far the field content moved from the previous frame to this one
(x = column, y = row): a particle at rest on the support appears at (x + dx, y + dy).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from skimage.registration import phase_cross_correlation


def _binned(image: np.ndarray, factor: int) -> np.ndarray:
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"drift images must be 2-D, got shape {img.shape}")
    if factor == 1:
        return img
    rows, cols = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    if rows == 0 or cols == 0:
        raise ValueError(f"image {img.shape} is smaller than the binning factor {factor}")
    return (
        img[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor).mean(axis=(1, 3))
    )


def phase_drift(
    previous: np.ndarray, current: np.ndarray, downsample: int = 2
) -> tuple[float, float]:
    """Return the drift (dx, dy) in px of `current` against `previous` by phase correlation.

    The images are binned by `downsample` first (speed, noise); the peak is refined to 1/10 of a
    binned pixel.
    """
    if np.shape(previous) != np.shape(current):
        raise ValueError(
            f"drift images differ in shape: {np.shape(previous)} vs {np.shape(current)}"
        )
    ref = _binned(previous, downsample)
    mov = _binned(current, downsample)
    shift, _, _ = phase_cross_correlation(ref, mov, upsample_factor=10, normalization=None)
    dy, dx = -float(shift[0]) * downsample, -float(shift[1]) * downsample
    return dx, dy


def detection_drift(
    predicted_xy: np.ndarray,
    detected_xy: np.ndarray,
    max_px: float,
    bin_px: float = 1.0,
    min_pairs: int = 3,
    tree: cKDTree | None = None,
) -> tuple[float, float]:
    """Return the drift (dx, dy) in px from where tracks were expected to where particles are.

    Each predicted position (n, 2) is paired with its nearest detection (m, 2) within `max_px`; the
    drift is the mode of those displacements (a 2-D histogram with `bin_px` bins, smoothed 3x3, so
    wrong nearest neighbours do not bias it), refined by the median of the displacements near the mode.
    `tree`: a cKDTree of `detected_xy` if one exists already. Returns (0, 0) when fewer than
    `min_pairs` pairs are found.
    """
    pred = np.asarray(predicted_xy, dtype=np.float64).reshape(-1, 2)
    det = np.asarray(detected_xy, dtype=np.float64).reshape(-1, 2)
    if pred.shape[0] < min_pairs or det.shape[0] < min_pairs:
        return 0.0, 0.0
    tree = cKDTree(det) if tree is None else tree
    dist, idx = tree.query(pred, k=1, distance_upper_bound=max_px)
    ok = np.isfinite(dist)
    return drift_from_displacements(det[idx[ok]] - pred[ok], max_px, bin_px, min_pairs)


def _row_medians(values: np.ndarray) -> tuple[float, float]:
    """Medians of the two rows of a (2, n) array via one partition (faster than np.median)."""
    n = values.shape[1]
    half = n // 2
    part = np.partition(values, [half - 1, half] if n % 2 == 0 else half, axis=1)
    if n % 2:
        return float(part[0, half]), float(part[1, half])
    mid = (part[:, half - 1] + part[:, half]) / 2
    return float(mid[0]), float(mid[1])


def drift_from_displacements(
    disp: np.ndarray, max_px: float, bin_px: float = 1.0, min_pairs: int = 3
) -> tuple[float, float]:
    """Return the common shift (dx, dy) of displacement vectors (n, 2) (px), robust to outliers.

    The mode of a 2-D histogram (bins of `bin_px` over +-max_px, smoothed 3x3) is refined by the
    median of the displacements within 2.5 bins of it. (0, 0) with fewer than `min_pairs` vectors.
    """
    disp = np.asarray(disp, dtype=np.float64).reshape(-1, 2)
    dx, dy = disp[:, 0], disp[:, 1]
    inside = (np.abs(dx) <= max_px) & (np.abs(dy) <= max_px)
    dx, dy = dx[inside], dy[inside]
    if dx.size < min_pairs:
        return 0.0, 0.0
    n_bins = max(1, int(np.ceil(2 * max_px / bin_px)))
    ci = np.minimum(((dx + max_px) / bin_px).astype(np.int64), n_bins - 1)
    cj = np.minimum(((dy + max_px) / bin_px).astype(np.int64), n_bins - 1)
    padded = np.zeros((n_bins + 2, n_bins + 2))
    padded[1:-1, 1:-1] = np.bincount(ci * n_bins + cj, minlength=n_bins * n_bins).reshape(
        n_bins, n_bins
    )
    smooth = padded[:-2, 1:-1] + padded[1:-1, 1:-1] + padded[2:, 1:-1]
    smooth = np.concatenate([np.zeros((n_bins, 1)), smooth, np.zeros((n_bins, 1))], axis=1)
    smooth = smooth[:, :-2] + smooth[:, 1:-1] + smooth[:, 2:]
    i, j = divmod(int(np.argmax(smooth)), n_bins)
    px, py = (i + 0.5) * bin_px - max_px, (j + 0.5) * bin_px - max_px
    near = np.flatnonzero((dx - px) ** 2 + (dy - py) ** 2 <= (2.5 * bin_px) ** 2)
    if near.size < min_pairs:
        return 0.0, 0.0
    both = np.empty((2, near.size))
    both[0], both[1] = dx.take(near), dy.take(near)
    return _row_medians(both)
