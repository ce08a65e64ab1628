"""Foreground pixels of a label image, flattened once and shared by every per-particle measurement.

Every measurement in :mod:`nanolive.analysis` works on the list of labelled pixels rather than on the
whole image: after one pass over the frame (copy into a zero-framed buffer, find the non-zero pixels) the
cost grows with the number of particle pixels, not with the frame size. Pixels are
kept in row-major order (sorted by row, then column), with their label mapped to a compact index
``0 .. n_particles - 1`` in increasing label order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Foreground:
    """The labelled pixels of one label image.

    Attributes:
        shape: (rows, cols) of the label image, px.
        labels: label value of each particle, increasing (int64, length n_particles).
        index: compact particle index of each foreground pixel (intp, length n_pixels).
        rows: row (y, px) of each foreground pixel, increasing.
        cols: column (x, px) of each foreground pixel.
        padded: the label image with a one-pixel frame of zeros, raveled (for neighbour look-ups).
        flat: index of each foreground pixel in ``padded`` minus that of pixel (0, 0).
        lut: dense label -> index table when labels are small integers, else None (binary search).
    """

    shape: tuple[int, int]
    labels: np.ndarray
    index: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    padded: np.ndarray
    flat: np.ndarray
    lut: np.ndarray | None

    @property
    def n_particles(self) -> int:
        """Number of distinct non-zero labels."""
        return int(self.labels.size)

    @property
    def padded_width(self) -> int:
        """Row stride of ``padded`` (cols + 2)."""
        return self.shape[1] + 2

    def neighbour_labels(self, drow: int, dcol: int) -> np.ndarray:
        """Label value of the neighbour at (row + drow, col + dcol) of every foreground pixel (0 outside),
        for |drow|, |dcol| <= 1."""
        origin = self.padded_width + 1  # index in ``padded`` of pixel (0, 0)
        return self.padded[origin + drow * self.padded_width + dcol :][self.flat]

    def label_to_index(self, values: np.ndarray) -> np.ndarray:
        """Compact particle index of label values that are known to be present."""
        if self.lut is not None:
            return self.lut[values]
        return np.searchsorted(self.labels, values)


def validate_labels(labels: np.ndarray) -> np.ndarray:
    """Return ``labels`` as a 2-D integer array, or raise ValueError explaining what is wrong."""
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise ValueError(f"label image must be 2-D (rows, cols), got shape {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.int32)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"label image must have an integer dtype, got {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError("label values must fit in int64")
    return arr


def foreground(labels: np.ndarray) -> Foreground:
    """Return the foreground pixels of ``labels`` (2-D integer array, 0 = background)."""
    arr = validate_labels(labels)
    n_rows, n_cols = arr.shape
    dtype = np.int64 if arr.dtype.itemsize >= 4 and arr.dtype != np.int32 else np.int32
    padded = np.zeros((n_rows + 2, n_cols + 2), dtype=dtype)
    padded[1:-1, 1:-1] = arr
    padded = padded.ravel()
    flat = np.flatnonzero(padded != 0)  # on a boolean mask: ~3x faster than on the labels
    values = padded[flat]
    if values.size and values.min() < 0:
        raise ValueError("label image must not contain negative labels (0 = background)")
    lut: np.ndarray | None = None
    if values.size == 0:
        present = np.zeros(0, dtype=np.int64)
        index = np.zeros(0, dtype=np.intp)
    elif int(values.max()) <= 4 * values.size + 65536:
        counts = np.bincount(values)
        present = np.flatnonzero(counts)
        lut = np.zeros(counts.size, dtype=np.intp)
        lut[present] = np.arange(present.size)
        if present.size == counts.size - 1:  # labels 1 .. n, all present: no look-up needed
            index = values.astype(np.intp) - 1
        else:
            index = lut[values]
    else:
        present, index = np.unique(values, return_inverse=True)
    rows = flat // (n_cols + 2)
    cols = flat - rows * (n_cols + 2)
    return Foreground(
        shape=(n_rows, n_cols),
        labels=present.astype(np.int64),
        index=index.astype(np.intp, copy=False),
        rows=rows - 1,
        cols=cols - 1,
        padded=padded,
        flat=flat - (n_cols + 3),
        lut=lut,
    )
