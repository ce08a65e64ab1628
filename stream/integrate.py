"""Temporal frame integration: the drift-aligned mean of the last few frames of one series.

At low dose the detector counts few electrons per frame and small particles fall below the noise
(below the Rose criterion, see ``nanolive.sim.detectability``). Averaging the last ``frames`` frames
after undoing the stage drift between them multiplies the dose per segmented image by up to that
count, at the cost of blurring what moves between frames (Brownian steps, growth). The engine itself
stays stateless: one :class:`FrameIntegrator` per series runs in the pipeline's segment stage,
before batching, and the engine segments the integrated image.

Drift convention (as ``nanolive.trackers.drift``): a drift (dx, dy) in px is how far the field
content moved from the previous frame to this one (x = column, y = row).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np
from nanolive.trackers.drift import phase_drift

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntegrationConfig:
    """Temporal integration before segmentation (TOML table ``[integration]``).

    frames: number of frames averaged, the current one included (1 = off: the engine sees each frame
        as it came). 2-4 helps at low dose (below ~100 e/px); more blurs moving particles.
    downsample: binning of the frames before the phase correlation that measures the drift between
        consecutive frames (speed and noise; px).
    max_drift_px: a measured drift larger than this between two frames (px) is taken as a jump of
        the stage or of the scene: the older frames are dropped and integration starts again.
    """

    frames: int = 1
    downsample: int = 4
    max_drift_px: float = 32.0

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"integration.frames must be >= 1, not {self.frames}")
        if self.downsample < 1:
            raise ValueError(f"integration.downsample must be >= 1, not {self.downsample}")
        if not self.max_drift_px > 0:
            raise ValueError(f"integration.max_drift_px must be > 0, not {self.max_drift_px}")


@dataclass(frozen=True)
class IntegratedFrame:
    """One integrated image (float32, the input frame's shape), how many frames it averages and the
    drift (dx, dy) in px measured from the previous frame (0, 0 for the first)."""

    image: np.ndarray
    n_frames: int
    drift_xy: tuple[float, float]


class FrameIntegrator:
    """Drift-aligned running mean of the last ``config.frames`` frames of one series, in the
    coordinates of the newest frame. Feed frames in acquisition order with :meth:`add`."""

    def __init__(self, config: IntegrationConfig) -> None:
        self.config = config
        # (frame, position) pairs, oldest first; position = the cumulative drift (x, y) in px
        self._frames: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=config.frames)

    def add(self, image: np.ndarray) -> IntegratedFrame:
        """Return the integrated image of ``image`` and up to ``frames - 1`` earlier frames."""
        frame = np.asarray(image, dtype=np.float32)
        if frame.ndim != 2:
            raise ValueError(f"frames must be 2-D, got shape {frame.shape}")
        if self.config.frames == 1:
            return IntegratedFrame(frame, 1, (0.0, 0.0))
        drift = self._drift_to(frame)
        position = self._frames[-1][1] + drift if self._frames else np.zeros(2)
        self._frames.append((frame, position))
        return IntegratedFrame(self._aligned_mean(position), len(self._frames), _pair(drift))

    def reset(self) -> None:
        """Forget the earlier frames (the next frame starts a new integration)."""
        self._frames.clear()

    def _drift_to(self, frame: np.ndarray) -> np.ndarray:
        """Return the drift (dx, dy) from the newest stored frame to ``frame``, or (0, 0) after a
        reset (no stored frame, another shape, an unmeasurable or too large drift)."""
        if not self._frames:
            return np.zeros(2)
        previous = self._frames[-1][0]
        if previous.shape != frame.shape:
            self.reset()
            return np.zeros(2)
        try:
            drift = np.array(phase_drift(previous, frame, self.config.downsample))
        except ValueError as exc:  # e.g. a frame smaller than the binning
            log.warning("frame integration restarts: drift not measurable (%s)", exc)
            self.reset()
            return np.zeros(2)
        if not np.all(np.isfinite(drift)) or np.hypot(*drift) > self.config.max_drift_px:
            log.info("frame integration restarts: drift %s px between frames", drift)
            self.reset()
            return np.zeros(2)
        return drift

    def _aligned_mean(self, position: np.ndarray) -> np.ndarray:
        """Return the mean of the stored frames, each shifted into the newest frame's coordinates
        (:func:`shifted_px`)."""
        total = np.zeros_like(self._frames[-1][0], dtype=np.float32)
        for frame, pos in self._frames:
            dx, dy = position - pos
            total += shifted_px(frame, float(dx), float(dy))
        total /= np.float32(len(self._frames))
        return total


def shifted_px(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Return float32 ``image`` with its content moved by (dx, dy) px (x = column, y = row),
    linearly interpolated, the nearest edge pixel repeated outside: what ``scipy.ndimage.shift(image,
    (dy, dx), order=1, mode="nearest")`` returns, as two separable two-tap passes (~4x faster)."""
    out = np.asarray(image, dtype=np.float32)
    for axis, d in ((0, dy), (1, dx)):
        if d == 0:
            continue
        whole = int(np.floor(d))
        frac = np.float32(d - whole)
        n = out.shape[axis]
        # out[i] = (1 - frac) * image[i - whole] + frac * image[i - whole - 1], indices clipped
        near = np.clip(np.arange(n) - whole, 0, n - 1)
        far = np.clip(np.arange(n) - whole - 1, 0, n - 1)
        a = out.take(near, axis=axis)
        out = a if not frac else a + frac * (out.take(far, axis=axis) - a)
    return out


def _pair(v: np.ndarray) -> tuple[float, float]:
    return float(v[0]), float(v[1])
