"""Settings of the particle tracker (the ``[tracker]`` table of the TOML config)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

DriftMode = Literal["auto", "phase", "detections", "none"]
DRIFT_MODES: tuple[str, ...] = ("auto", "phase", "detections", "none")


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker settings. Lengths in px, durations in frames.

    max_distance_px: KD-tree gate: a detection farther than this from a track's predicted position
        (after drift compensation) is never linked to it (px).
    max_candidates: detections considered per track (the nearest ones inside the gate).
    gate_chi2: gate on the squared Mahalanobis distance of the innovation (x, y and, with
        `size_in_cost`, the diameter); also the non-link cost of the assignment: a pair is linked
        only when its squared Mahalanobis distance is below it.
    size_in_cost: include the diameter in the Mahalanobis distance (a coasting small track does not
        take a large particle's detection); set size_measurement_sigma_px to the detector's noise.
    size_cost_cap: the diameter's share of the cost is capped here, so a size jump alone (a particle
        partly hidden by another, or cut by the field edge) cannot veto a link.
    measurement_sigma_px: localisation error of a detection (px, standard deviation).
    diffusion_sigma_px: Brownian step per frame and axis (px, standard deviation).
    velocity_sigma_px: white-noise acceleration of the low-weight velocity (px per frame^2).
    initial_velocity_sigma_px: prior on the velocity of a new track (px per frame).
    size_measurement_sigma_px: error of a detection's equivalent diameter (px).
    size_sigma_px: change of the diameter per frame (px, standard deviation).
    min_hits: matched frames after which a track is confirmed (1 = at once).
    max_gap: frames a confirmed track may coast without detection before it is deleted.
    max_gap_tentative: the same for tentative (unconfirmed) tracks.
    drift: global drift compensation before association: "detections" (default: the mode of the
        displacements of predicted tracks to their nearest detections; sub-pixel with many
        particles, ~0.1 ms), "phase" (phase correlation of consecutive binned images; needs `image`;
        survives jumps larger than the particle spacing but costs 8-17 ms per 512 x 512 frame at
        drift_downsample 4-2 on a loaded 2-core machine, and is less precise, ~0.2 px),
        "auto" (phase when an image is given, else detections), "none".
    drift_max_px: largest drift between two frames that is searched for (px).
    drift_downsample: integer binning of the images before phase correlation.
    merge_volume_tolerance: a merge/split is accepted when the volumes (area^1.5) of the parts sum to
        the whole within this fraction.
    merge_max_gap_px: largest edge-to-edge distance between two parents of a merge (children of a
        split) in their last (first) frame (px).
    merge_confirm_frames: a suggested merge/split is decided this many frames later, on the areas
        averaged over those frames and only if the ended tracks did not come back (segmentation
        flicker and missed detections are not events); the event keeps the frame where it happened.
        0 = decide at once. Used as min(merge_confirm_frames, max_gap): the parents coast meanwhile.
    area_smoothing: weight of the newest area in a track's running (exponential) mean area.
    new_id_on_merge: the product of a merge (and both products of a split) get new track ids, so every
        track id is one particle with one volume history; if False the parent that got linked goes on.
    edge_margin_px: a track deleted within this distance of the field edge "left the field".
    field_shape: (rows, cols) of the field of view, used for edge checks when no image is given
        (None: only known from images).
    """

    max_distance_px: float = 12.0
    max_candidates: int = 4
    gate_chi2: float = 16.0
    size_in_cost: bool = True
    size_cost_cap: float = 8.0
    measurement_sigma_px: float = 0.7
    diffusion_sigma_px: float = 1.5
    velocity_sigma_px: float = 0.05
    initial_velocity_sigma_px: float = 0.5
    size_measurement_sigma_px: float = 1.0
    size_sigma_px: float = 0.2
    min_hits: int = 2
    max_gap: int = 3
    max_gap_tentative: int = 1
    drift: DriftMode = "detections"
    drift_max_px: float = 20.0
    drift_downsample: int = 2
    merge_volume_tolerance: float = 0.3
    merge_max_gap_px: float = 6.0
    merge_confirm_frames: int = 3
    area_smoothing: float = 0.5
    new_id_on_merge: bool = True
    edge_margin_px: float = 3.0
    field_shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        positive = (
            "max_distance_px",
            "gate_chi2",
            "measurement_sigma_px",
            "diffusion_sigma_px",
            "size_measurement_sigma_px",
            "drift_max_px",
            "merge_volume_tolerance",
            "size_cost_cap",
        )
        for name in positive:
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"tracker.{name} must be > 0, not {getattr(self, name)!r}")
        for name in ("velocity_sigma_px", "initial_velocity_sigma_px", "size_sigma_px"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"tracker.{name} must be >= 0, not {getattr(self, name)!r}")
        for name in ("merge_max_gap_px", "edge_margin_px"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"tracker.{name} must be >= 0, not {getattr(self, name)!r}")
        if self.max_candidates < 1:
            raise ValueError(f"tracker.max_candidates must be >= 1, not {self.max_candidates}")
        if self.min_hits < 1:
            raise ValueError(f"tracker.min_hits must be >= 1, not {self.min_hits}")
        if self.max_gap < 0 or self.max_gap_tentative < 0:
            raise ValueError("tracker.max_gap and tracker.max_gap_tentative must be >= 0")
        if self.merge_confirm_frames < 0:
            raise ValueError(
                f"tracker.merge_confirm_frames must be >= 0, not {self.merge_confirm_frames}"
            )
        if not 0 < self.area_smoothing <= 1:
            raise ValueError(f"tracker.area_smoothing must be in (0, 1], not {self.area_smoothing}")
        if self.drift not in DRIFT_MODES:
            raise ValueError(f"tracker.drift must be one of {DRIFT_MODES}, not {self.drift!r}")
        if self.drift_downsample < 1:
            raise ValueError(f"tracker.drift_downsample must be >= 1, not {self.drift_downsample}")
        if self.merge_volume_tolerance >= 1:
            raise ValueError("tracker.merge_volume_tolerance must be < 1")
        if self.field_shape is not None:
            shape = tuple(int(v) for v in self.field_shape)
            if len(shape) != 2 or min(shape) < 1:
                raise ValueError(
                    f"tracker.field_shape must be (rows, cols) >= 1, not {self.field_shape}"
                )
            object.__setattr__(self, "field_shape", shape)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrackerConfig:
        """Return a config from a mapping (e.g. a TOML table); unknown keys raise ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown tracker setting(s): {', '.join(unknown)}")
        return cls(**values)
