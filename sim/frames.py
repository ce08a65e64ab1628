"""What the simulator hands out: one frame with its exact ground truth, and the events between frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A table: columns of equal length, names quantity-first with their unit (``area_px``, ``volume_nm3``).
Table = dict[str, np.ndarray]

EVENT_KINDS: tuple[str, ...] = ("appear", "disappear", "merge", "split")


@dataclass(frozen=True)
class SimEvent:
    """A change of identity that takes effect at ``frame``.

    kind: "appear" (first frame the particle is visible), "disappear" (first frame it is no longer
        visible), "merge" (first frame the child exists; parents are the coalesced particles) or
        "split" (first frame the children exist).
    parents / children: track ids before / after the event (appear has no parents, disappear no
        children).
    """

    kind: str
    frame: int
    parents: tuple[int, ...]
    children: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"SimEvent.kind must be one of {EVENT_KINDS}, not {self.kind!r}")


@dataclass(frozen=True)
class SimFrame:
    """One simulated frame with its ground truth.

    index: frame number (0-based). t_s: acquisition time (s).
    image: float32 (H, W) detector counts of the fully sampled frame (the sparse measurement is
        ``image * mask``).
    labels: int32 (H, W); value = the track id of the particle seen at that pixel, 0 = support. Where
        particles overlap in projection the pixel belongs to the one with the largest projected
        thickness there.
    particles: the table of visible particles (one row per label value, sorted by track id); centroids
        and areas are measured on ``labels``; 3-D shape parameters are the true ones.
    events: events taking effect at this frame.
    pixel_size_nm: nm per px.
    mask: uint8 (H, W), 1 = sampled, or None for a full scan.
    clean: float32 (H, W) expected detector counts before counting noise (the noise-free image).
    """

    index: int
    t_s: float
    image: np.ndarray
    labels: np.ndarray
    particles: Table
    events: list[SimEvent]
    pixel_size_nm: float
    mask: np.ndarray | None = None
    clean: np.ndarray | None = None
