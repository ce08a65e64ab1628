"""The per-frame core shared by `serve` and `analyze`: engine -> particle table -> tracker -> metrics.

:class:`FrameProcessor` takes batches of frames (same shape), segments them with the engine in one call,
then, frame by frame and in order, measures the instances (``nanolive.analysis.particle_table``), links
them to tracks (one ``nanolive.trackers.Tracker`` per series) and computes the frame metrics. It holds
no sockets and no files: the live server and the file analysis both drive it, and
:func:`process_frames` is the batch form built on it.

Conventions: images (rows, cols); x = column, y = row in px, origin at the centre of the top-left pixel;
times in s.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from nanolive.analysis import frame_metrics, particle_table
from nanolive.analysis.delaunay import warm_up as warm_up_triangulation
from nanolive.engines.base import Engine
from nanolive.trackers import Detections, Tracker, TrackerConfig, TrackEvent
from scipy import ndimage as ndi

from .integrate import FrameIntegrator, IntegrationConfig

log = logging.getLogger(__name__)

Table = dict[str, np.ndarray]
EVENT_FRAME_MEMORY = 4096  # how many recent frame index -> seq pairs a series remembers


@dataclass(frozen=True)
class FrameInput:
    """One frame entering the core.

    image: float32 (rows, cols) detector counts; mask: uint8 (rows, cols), 1 = sampled, or None;
    t_s: acquisition time (s); received_s: monotonic time of receipt (s), for latency.
    """

    series: str
    seq: int
    t_s: float
    image: np.ndarray
    pixel_size_nm: float | None = None
    frame_interval_s: float | None = None
    mask: np.ndarray | None = None
    received_s: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) in px."""
        return (int(self.image.shape[0]), int(self.image.shape[1]))


@dataclass(frozen=True)
class FrameResult:
    """Everything the core found in one frame.

    particles: the particle table (one row per instance, sorted by label) with ``track_id`` (>= 1)
    and ``confirmed`` added; labels: int32 instance labels (0 = background, values = ``label``);
    metrics: the frame metrics (numbers, and lists for histograms); events: track events reported at this frame (their ``frame`` is a
    seq of this series); timings: seconds per stage for this frame; tracked_count: particles the
    tracker holds in view at this frame: detections of confirmed tracks plus confirmed tracks coasting
    through a missed detection (a count that does not flicker with single missed detections).
    """

    series: str
    seq: int
    t_s: float
    shape: tuple[int, int]
    pixel_size_nm: float | None
    labels: np.ndarray
    particles: Table
    metrics: dict[str, object]
    events: tuple[TrackEvent, ...]
    active_tracks: int
    received_s: float
    timings: dict[str, float] = field(default_factory=dict)
    tracked_count: int = 0

    @property
    def count(self) -> int:
        """Number of particles in the frame."""
        return int(len(self.particles.get("label", ())))


@dataclass(frozen=True)
class FrameFailure:
    """A frame the core could not process: ``reason`` is a drop reason, ``detail`` the error."""

    frame: FrameInput
    reason: str
    detail: str


@dataclass
class SeriesTracking:
    """The tracker of one series and the seq of each of its recent tracker frames."""

    tracker: Tracker
    seqs: deque[int] = field(default_factory=lambda: deque(maxlen=EVENT_FRAME_MEMORY))
    first_index: int = 0

    def seq_of(self, index: int) -> int:
        """Return the seq of tracker frame ``index`` (the index itself when no longer remembered)."""
        offset = index - self.first_index
        if 0 <= offset < len(self.seqs):
            return self.seqs[offset]
        return index

    def remember(self, seq: int) -> None:
        """Record the seq of the next tracker frame."""
        if len(self.seqs) == self.seqs.maxlen:
            self.first_index += 1
        self.seqs.append(seq)


def fill_unsampled(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Return ``image`` with unsampled pixels (mask == 0) set to the nearest sampled pixel's value."""
    if mask is None:
        return image
    unsampled = mask == 0
    if not unsampled.any():
        return image
    if unsampled.all():
        return np.zeros_like(image)
    _, (rows, cols) = ndi.distance_transform_edt(unsampled, return_indices=True)
    return image[rows, cols]


@dataclass(frozen=True)
class SegmentedBatch:
    """The engine's output for a batch: per frame either labels or the failure that replaced them.

    seconds: engine time of the whole batch divided by its size (s per frame).
    """

    frames: tuple[FrameInput, ...]
    labels: list[np.ndarray]
    failures: list[FrameFailure | None]
    seconds: float


class FrameProcessor:
    """Segments, measures, tracks and summarises frames; one tracker per series, order kept."""

    def __init__(
        self,
        engine: Engine,
        tracker_config: TrackerConfig,
        integration: IntegrationConfig | None = None,
    ) -> None:
        self.engine = engine
        self.tracker_config = tracker_config
        self.integration = integration if integration is not None else IntegrationConfig()
        self.series: dict[str, SeriesTracking] = {}
        # per series, used by the segment stage only (frames arrive there in order)
        self._integrators: dict[str, FrameIntegrator] = {}
        self._active: dict[str, int] = {}
        warm_up_triangulation()  # compile (or load) the numba Delaunay before the first frame

    @property
    def active_tracks(self) -> int:
        """Tracks alive over all open series."""
        return sum(self._active.values())

    def process_batch(self, frames: Sequence[FrameInput]) -> list[FrameResult | FrameFailure]:
        """Return the result or the failure of each of ``frames`` (same shape), in input order."""
        return self.finish_batch(self.segment_batch(frames)) if frames else []

    def segment_batch(self, frames: Sequence[FrameInput]) -> SegmentedBatch:
        """Return the engine's labels (or failures) of ``frames`` (same shape): the first stage,
        which holds no tracking state and may run in its own thread (call it in frame order: it
        keeps each series' frame integration, :class:`IntegrationConfig`)."""
        t0 = time.perf_counter()
        images = [self.engine_input(f) for f in frames]
        labels, failures = self._segment(frames, images)
        seconds = (time.perf_counter() - t0) / max(1, len(frames))  # input preparation included
        return SegmentedBatch(tuple(frames), labels, failures, seconds)

    def engine_input(self, frame: FrameInput) -> np.ndarray:
        """Return the image the engine segments for ``frame``: unsampled pixels filled, then the
        drift-aligned mean with the series' previous frames when ``integration.frames`` > 1."""
        image = fill_unsampled(frame.image, frame.mask)
        if self.integration.frames == 1:
            return image
        integrator = self._integrators.get(frame.series)
        if integrator is None:
            integrator = self._integrators[frame.series] = FrameIntegrator(self.integration)
        try:
            return integrator.add(image).image
        except Exception as exc:  # keep serving: segment this frame as it came, start again
            log.warning(
                "frame integration failed on series %r seq %d (%s); frame used alone",
                frame.series,
                frame.seq,
                exc,
            )
            integrator.reset()
            return image

    def finish_batch(self, segmented: SegmentedBatch) -> list[FrameResult | FrameFailure]:
        """Return the result or the failure of each frame of ``segmented``, in input order: the
        second stage (measure, track, frame metrics); call it in frame order."""
        frames, seg_s = segmented.frames, segmented.seconds
        outcomes: list[FrameResult | FrameFailure] = []
        for frame, lab, failure in zip(frames, segmented.labels, segmented.failures, strict=True):
            if failure is not None:
                outcomes.append(failure)
                continue
            try:
                outcomes.append(self.process_labels(frame, lab, seg_s))
            except Exception as exc:  # keep serving: one bad frame must not stop the stream
                log.exception("analysis failed on series %r seq %d", frame.series, frame.seq)
                outcomes.append(
                    FrameFailure(frame, "analysis_error", f"{type(exc).__name__}: {exc}")
                )
        return outcomes

    def process_labels(
        self, frame: FrameInput, labels: np.ndarray, segment_s: float = 0.0
    ) -> FrameResult:
        """Return the result of one frame whose instance ``labels`` are known."""
        t0 = time.perf_counter()
        table = particle_table(labels, frame.image, frame.pixel_size_nm)
        t1 = time.perf_counter()
        tracking = self._tracking(frame)
        update = tracking.tracker.update(
            Detections.from_table(table), image=frame.image, t_s=frame.t_s
        )
        tracking.remember(frame.seq)
        table = dict(table)
        table["track_id"] = np.asarray(update.track_ids, dtype=np.int64)
        table["confirmed"] = np.asarray(update.confirmed, dtype=bool)
        t2 = time.perf_counter()
        metrics = frame_metrics(table, frame.shape, frame.pixel_size_nm)
        t3 = time.perf_counter()
        self._active[frame.series] = int(update.active_tracks)
        return FrameResult(
            series=frame.series,
            seq=frame.seq,
            t_s=frame.t_s,
            shape=frame.shape,
            pixel_size_nm=frame.pixel_size_nm,
            labels=labels,
            particles=table,
            metrics=dict(metrics),
            events=tuple(self._with_seq(tracking, e) for e in update.events),
            active_tracks=int(update.active_tracks),
            received_s=frame.received_s,
            timings={"segment": segment_s, "measure": t1 - t0 + t3 - t2, "track": t2 - t1},
            tracked_count=update.tracked_count,
        )

    def finish_series(self, series: str) -> list[TrackEvent]:
        """Close the tracker of ``series`` and return its closing events ([] if it had none)."""
        tracking = self.series.pop(series, None)
        self._active.pop(series, None)
        self._integrators.pop(series, None)
        if tracking is None:
            return []
        return [self._with_seq(tracking, e) for e in tracking.tracker.finish()]

    # -- internals --------------------------------------------------------------------------

    def _tracking(self, frame: FrameInput) -> SeriesTracking:
        tracking = self.series.get(frame.series)
        if tracking is None:
            tracker = Tracker(
                self.tracker_config,
                frame_interval_s=frame.frame_interval_s or 1.0,
                pixel_size_nm=frame.pixel_size_nm,
            )
            tracking = self.series[frame.series] = SeriesTracking(tracker)
        return tracking

    @staticmethod
    def _with_seq(tracking: SeriesTracking, event: TrackEvent) -> TrackEvent:
        seq = tracking.seq_of(event.frame)
        return event if seq == event.frame else replace(event, frame=seq)

    def _segment(
        self, frames: Sequence[FrameInput], images: Sequence[np.ndarray]
    ) -> tuple[list[np.ndarray], list[FrameFailure | None]]:
        """Return per-frame labels and per-frame failure (None = fine) of the engine on ``images``
        (the engine inputs of ``frames``)."""
        stack = np.stack(images).astype(np.float32)
        try:
            labels = self._checked_segment(stack)
            return list(labels), [None] * len(frames)
        except Exception as exc:
            if len(frames) == 1:
                frame = frames[0]
                log.warning(
                    "engine %s failed on series %r seq %d: %s",
                    self.engine.name,
                    frame.series,
                    frame.seq,
                    exc,
                )
                failure = FrameFailure(frame, "engine_error", f"{type(exc).__name__}: {exc}")
                return [np.zeros(frame.shape, np.int32)], [failure]
        # The batch failed: retry frame by frame so only the failing frames are lost.
        out: list[np.ndarray] = []
        failures: list[FrameFailure | None] = []
        for frame, image in zip(frames, images, strict=True):
            lab, fail = self._segment([frame], [image])
            out.extend(lab)
            failures.extend(fail)
        return out, failures

    def _checked_segment(self, stack: np.ndarray) -> np.ndarray:
        labels = np.asarray(self.engine.segment(stack))
        if labels.shape != stack.shape:
            raise ValueError(f"engine returned labels {labels.shape} for a batch {stack.shape}")
        return labels.astype(np.int32, copy=False)


def batches_of_same_shape(
    frames: Iterable[FrameInput], max_batch: int
) -> Iterator[list[FrameInput]]:
    """Yield consecutive runs of at most ``max_batch`` frames that share one shape."""
    if max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, not {max_batch}")
    batch: list[FrameInput] = []
    for frame in frames:
        if batch and (len(batch) == max_batch or frame.shape != batch[0].shape):
            yield batch
            batch = []
        batch.append(frame)
    if batch:
        yield batch


def process_frames(
    processor: FrameProcessor, frames: Iterable[FrameInput], max_batch: int = 1
) -> Iterator[FrameResult | FrameFailure]:
    """Yield, in input order, the result or the failure of every frame (the batch form of the core).

    Series are not closed here: call ``processor.finish_series`` for the closing track events.
    """
    for batch in batches_of_same_shape(frames, max_batch):
        yield from processor.process_batch(batch)
