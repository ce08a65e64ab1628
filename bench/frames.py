"""Simulated frames with exact ground truth, the one source of frames for every benchmark part.

The particle density is the simulator's default (150 particles in 512 x 512 px), kept constant when the
frame side changes, so larger frames hold proportionally more particles (like a larger detector).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_DENSITY_PER_PX2 = 150.0 / 512**2


@dataclass(frozen=True)
class TruthFrame:
    """One simulated frame and its truth.

    image: float32 (rows, cols) detector counts; ids: int64 true track ids (n,); xy: float64 (n, 2)
    true centroids in px (x = column, y = row); diameter_px: median true equivalent diameter (px).
    """

    index: int
    t_s: float
    image: np.ndarray
    ids: np.ndarray
    xy: np.ndarray
    diameter_px: float


def sim_config_for(side_px: int, n_particles: float | None = None):  # noqa: ANN201 (SimConfig)
    """Return the simulator configuration of a ``side_px`` square frame at the default density."""
    from nanolive.sim import SimConfig

    count = n_particles if n_particles is not None else DEFAULT_DENSITY_PER_PX2 * side_px**2
    return SimConfig(shape=(side_px, side_px), n_particles=float(count))


def simulated_frames(side_px: int, n_frames: int, seed: int) -> list[TruthFrame]:
    """Return ``n_frames`` consecutive frames of one simulated video with their truth."""
    from nanolive.sim import simulate_video

    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, not {n_frames}")
    out = []
    for fr in simulate_video(sim_config_for(side_px), n_frames, seed):
        p = fr.particles
        xy = np.stack([np.asarray(p["x"], float), np.asarray(p["y"], float)], axis=1)
        diam = np.asarray(p["diameter_equivalent_px"], float)
        out.append(
            TruthFrame(
                index=int(fr.index),
                t_s=float(fr.t_s),
                image=np.ascontiguousarray(fr.image, dtype=np.float32),
                ids=np.asarray(p["track_id"], dtype=np.int64),
                xy=xy.reshape(-1, 2),
                diameter_px=float(np.median(diam)) if diam.size else 0.0,
            )
        )
    return out


def wire_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` (counts) as uint16, the detector's wire type (rounded, clipped to 0..65535)."""
    return np.clip(np.rint(image), 0, 65535).astype(np.uint16)
