"""Binning in front of any engine: segment block-averaged frames, return labels at full size."""

from __future__ import annotations

import numpy as np

from .base import Engine
from .postprocess import block_mean


def binned_frames(batch: np.ndarray, factor: int) -> np.ndarray:
    """Return frames (B, H, W) averaged over factor x factor blocks, shape (B, ceil(H/f), ceil(W/f));
    a partial last block row/column is padded by repeating the edge pixels."""
    h, w = batch.shape[1:]
    padded = np.pad(batch, ((0, 0), (0, -h % factor), (0, -w % factor)), mode="edge")
    return np.stack([block_mean(frame, factor) for frame in padded])


def enlarged_labels(labels: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """Return labels (B, h, w) of binned frames enlarged to (B, *shape): each binned pixel becomes a
    factor x factor block (nearest), cropped to the original frame."""
    big = np.repeat(np.repeat(labels, factor, axis=1), factor, axis=2)
    return np.ascontiguousarray(big[:, : shape[0], : shape[1]], dtype=np.int32)


class BinnedEngine:
    """An engine that bins each frame by ``factor`` before ``inner`` segments it (see
    ``EngineConfig.bin_factor``); labels come back at the frame's full size (px of the frame)."""

    def __init__(self, inner: Engine, factor: int) -> None:
        if factor < 1:
            raise ValueError(f"bin factor must be >= 1, not {factor}")
        self.inner = inner
        self.factor = factor
        self.name = f"{inner.name}-bin{factor}"

    def segment(self, batch: np.ndarray) -> np.ndarray:
        """Return int32 labels (B, H, W) for frames (B, H, W)."""
        batch = np.asarray(batch)
        if batch.ndim != 3:
            raise ValueError(f"expected a batch (B, H, W), got shape {batch.shape}")
        labels = self.inner.segment(binned_frames(batch, self.factor))
        return enlarged_labels(labels, self.factor, batch.shape[1:])
