"""The three analyses compared on the same frames: ours, trackpy, and a ParticleSpy-style analysis.

Each method turns a sequence of frames into per-frame centroids (x = column, y = row, px) and per-frame
track ids, and reports the seconds it spent per stage. Only the analysis is timed, never the scoring.

- ``ours``: the live pipeline's per-frame core (nanolive.stream.pipeline.FrameProcessor: engine ->
  particle_table -> Tracker -> frame_metrics), frame by frame, streaming.
- ``trackpy``: ``trackpy.locate`` (diameter = the odd integer above the median true particle diameter,
  ``minmass`` calibrated for the best F1 on a separate calibration frame) then ``trackpy.link``.
- ``particlespy_style``: ParticleSpy is not installed; this is our own equivalent of its method, written
  from its documentation and source description (GPL code not copied): Gaussian smoothing, Otsu
  threshold, distance-transform watershed, small-object removal, then ``skimage.measure.regionprops``
  and, per particle, the full-frame property loop ParticleSpy's ``particle_analysis`` performs (a
  full-frame particle mask and particle image, a background ring from two binary dilations, perimeter
  and circularity, eccentricity, solidity, axes, intensities, bounding box, a stored crop); tracks come
  from ``trackpy.link`` with memory 3 as in its ``time_series_analysis``.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from .accuracy import detection_scores
from .frames import TruthFrame

log = logging.getLogger(__name__)

LINK_MEMORY_FRAMES = 3


@contextlib.contextmanager
def trackpy_quiet() -> Iterator[None]:
    """Silence trackpy's progress messages and the pandas deprecation warnings it triggers."""
    import trackpy

    trackpy.quiet()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@dataclass(frozen=True)
class MethodRun:
    """What one method found: per-frame centroids (n, 2) px and track ids (n,), seconds per stage."""

    name: str
    xy: list[np.ndarray]
    ids: list[np.ndarray]
    seconds: dict[str, float]
    params: dict[str, object] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        """Frames analysed."""
        return len(self.xy)

    @property
    def frames_per_s(self) -> float:
        """Frames per second of the whole analysis (every stage)."""
        total = sum(self.seconds.values())
        return self.frames / total if total > 0 else float("inf")


def run_ours(frames: Sequence[TruthFrame], engine_name: str = "classical") -> MethodRun:
    """Run the pipeline core (engine, measurement, tracking, frame metrics) frame by frame."""
    from nanolive.stream.pipeline import FrameInput, FrameProcessor, FrameResult
    from nanolive.trackers import TrackerConfig

    from .backends import create

    engine = create(engine_name)
    processor = FrameProcessor(engine, TrackerConfig())
    engine.segment(frames[0].image[None])  # warm-up (lazy initialisation, caches), not timed
    xy, ids = [], []
    start = time.perf_counter()
    for fr in frames:
        item = FrameInput("bench", fr.index, fr.t_s, fr.image, frame_interval_s=None)
        (out,) = processor.process_batch([item])
        if not isinstance(out, FrameResult):
            raise RuntimeError(f"{engine_name} failed on frame {fr.index}: {out.detail}")
        p = out.particles
        xy.append(np.stack([p["x"], p["y"]], axis=1).reshape(-1, 2))
        ids.append(np.asarray(p["track_id"], dtype=np.int64))
    total = time.perf_counter() - start
    processor.finish_series("bench")
    return MethodRun(f"ours_{engine_name}", xy, ids, {"analysis_and_tracking": total})


def trackpy_diameter(frames: Sequence[TruthFrame]) -> int:
    """Return trackpy's ``diameter``: the odd integer at or above the median true diameter (px)."""
    d = int(np.ceil(np.median([f.diameter_px for f in frames if f.diameter_px > 0] or [7.0])))
    return d if d % 2 else d + 1


def calibrate_minmass(
    frame: TruthFrame, diameter: int, max_distance_px: float
) -> tuple[float, float]:
    """Return (minmass, F1) of the mass threshold giving trackpy the best F1 on ``frame``."""
    import trackpy

    with trackpy_quiet():
        found = trackpy.locate(frame.image, diameter)
    masses = np.asarray(found["mass"], float)
    if not masses.size:
        return 0.0, 0.0
    xy = found[["x", "y"]].to_numpy(float)
    best = (0.0, -1.0)
    for q in np.linspace(0, 95, 39):
        cut = float(np.percentile(masses, q))
        keep = masses >= cut
        f1 = detection_scores([frame.xy], [xy[keep]], max_distance_px).f1
        if f1 > best[1]:
            best = (cut, f1)
    return best


def link_with_trackpy(
    xy: Sequence[np.ndarray], search_range_px: float
) -> tuple[list[np.ndarray], float]:
    """Return per-frame track ids from ``trackpy.link`` of per-frame centroids, and its seconds."""
    import pandas as pd
    import trackpy

    rows = [
        pd.DataFrame({"x": p[:, 0], "y": p[:, 1], "frame": i}) for i, p in enumerate(xy) if len(p)
    ]
    if not rows:
        return [np.zeros(0, np.int64) for _ in xy], 0.0
    df = pd.concat(rows, ignore_index=True)
    start = time.perf_counter()
    with trackpy_quiet():
        linked = trackpy.link(df, search_range_px, memory=LINK_MEMORY_FRAMES)
    seconds = time.perf_counter() - start
    # align the ids with the centroids given, whatever order link returns its rows in
    flat = linked["particle"].reindex(df.index).to_numpy(dtype=np.int64)
    bounds = np.cumsum([0, *(len(p) for p in xy)])
    ids = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return ids, seconds


def run_trackpy(
    frames: Sequence[TruthFrame],
    calibration: TruthFrame,
    max_distance_px: float,
    search_range_px: float,
) -> MethodRun:
    """Run ``trackpy.locate`` on every frame (calibrated ``minmass``) and ``trackpy.link``."""
    import trackpy

    diameter = trackpy_diameter(frames)
    minmass, cal_f1 = calibrate_minmass(calibration, diameter, max_distance_px)
    xy = []
    with trackpy_quiet():
        start = time.perf_counter()
        for fr in frames:
            found = trackpy.locate(fr.image, diameter, minmass=minmass)
            xy.append(found[["x", "y"]].to_numpy(float).reshape(-1, 2))
        locate_s = time.perf_counter() - start
    ids, link_s = link_with_trackpy(xy, search_range_px)
    params = {"diameter_px": diameter, "minmass": minmass, "calibration_f1": cal_f1}
    return MethodRun("trackpy", xy, ids, {"locate": locate_s, "link": link_s}, params)


def particlespy_labels(image: np.ndarray, sigma_px: float, min_distance_px: int) -> np.ndarray:
    """Return int32 labels: Gaussian smoothing, Otsu threshold, distance watershed, small-object removal."""
    from skimage.feature import peak_local_max
    from skimage.filters import gaussian, threshold_otsu
    from skimage.morphology import remove_small_objects
    from skimage.segmentation import watershed

    smooth = gaussian(image.astype(np.float64), sigma_px)
    if smooth.max() == smooth.min():
        return np.zeros(image.shape, np.int32)
    mask = smooth > threshold_otsu(smooth)
    distance = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(distance, min_distance=min_distance_px, labels=ndi.label(mask)[0])
    markers = np.zeros(image.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-distance, markers, mask=mask)
    labels = remove_small_objects(labels, max_size=4)
    return labels.astype(np.int32)


def particlespy_properties(labels: np.ndarray, image: np.ndarray, pad_px: int = 5) -> list[dict]:
    """Return one property dict per region, computed the ParticleSpy way (a full-frame loop)."""
    from skimage.measure import perimeter, regionprops

    data = image.astype(np.float64)
    out = []
    for region in regionprops(labels):
        inside = labels == region.label
        particle_image = np.zeros_like(data)
        particle_image[inside] = data[inside] - data[inside].min()
        grown = ndi.binary_dilation(inside)
        ring = ndi.binary_dilation(grown) & ~grown
        background = float(data[ring].mean()) if ring.any() else 0.0
        area = float(region.area)
        per = float(perimeter(inside, neighborhood=4))
        signal = (data - background) * inside
        r0, c0, r1, c1 = region.bbox
        crop = data[max(r0 - pad_px, 0) : r1 + pad_px, max(c0 - pad_px, 0) : c1 + pad_px].copy()
        peak = float(signal.max())
        out.append(
            {
                "x": float(region.centroid[1]),
                "y": float(region.centroid[0]),
                "area": area,
                "equivalent_circular_diameter": 2.0 * np.sqrt(area / np.pi),
                "major_axis_length": float(region.axis_major_length),
                "minor_axis_length": float(region.axis_minor_length),
                "circularity": 4 * np.pi * area / per**2 if per > 0 else 0.0,
                "eccentricity": float(region.eccentricity),
                "solidity": float(region.solidity),
                "background": background,
                "intensity": float(signal.sum()),
                "intensity_max": peak,
                "intensity_std": float(signal.std() / peak) if peak else 0.0,
                "bbox_area": float(region.area_bbox),
                "mask": inside,
                "image": particle_image,
                "crop": crop,
            }
        )
    return out


def run_particlespy_style(
    frames: Sequence[TruthFrame], search_range_px: float, sigma_px: float = 1.5
) -> MethodRun:
    """Run the ParticleSpy-style analysis on every frame, then link with trackpy."""
    min_distance = max(2, int(round(trackpy_diameter(frames) / 2)))
    xy = []
    seg_s = props_s = 0.0
    for fr in frames:
        t0 = time.perf_counter()
        labels = particlespy_labels(fr.image, sigma_px, min_distance)
        t1 = time.perf_counter()
        props = particlespy_properties(labels, fr.image)
        t2 = time.perf_counter()
        seg_s += t1 - t0
        props_s += t2 - t1
        xy.append(np.array([(p["x"], p["y"]) for p in props], float).reshape(-1, 2))
    ids, link_s = link_with_trackpy(xy, search_range_px)
    seconds = {"segment": seg_s, "property_loop": props_s, "link": link_s}
    params = {"gaussian_sigma_px": sigma_px, "watershed_min_distance_px": min_distance}
    return MethodRun("particlespy_style", xy, ids, seconds, params)
