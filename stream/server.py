"""The live pipeline in one object: ingest -> queue -> batcher -> core -> publisher + recorder.

``Server(config)`` owns its ZeroMQ context, sockets, threads, metrics registry, engine, trackers and
session folder. ``start()`` binds everything and returns at once; ``stop()`` stops reading the socket,
drains every frame already received, closes open series (their track events are published and
recorded), and releases everything. It is a context manager, so tests run it in-process; ``nanolive
serve`` runs the same object until interrupted.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zmq
from nanolive.engines.base import Engine
from nanolive.engines.registry import create_engine

from .batcher import Batcher
from .config import Config, config_as_dict
from .ingest import Ingest, QueuedFrame, SeriesClosed, make_queue
from .metrics import Accounting, PipelineMetrics, serve_metrics_http
from .pipeline import FrameFailure, FrameInput, FrameProcessor, FrameResult, SegmentedBatch
from .publish import Publisher, events_payload
from .record import SessionRecorder

log = logging.getLogger(__name__)

WORKER_POLL_S = 0.05
#: Segmented batches waiting for the measure/track stage (keeps memory and latency bounded).
HANDOFF_DEPTH = 2
_DONE = object()


def connect_address(endpoint: str) -> str:
    """Return the address a local client connects to for a bound ``endpoint`` (``*`` -> 127.0.0.1)."""
    return endpoint.replace("://*:", "://127.0.0.1:").replace("://0.0.0.0:", "://127.0.0.1:")


def new_session_folder(parent: Path) -> Path:
    """Return a new, empty folder under ``parent`` named by the local start time."""
    stem = time.strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        folder = parent / (stem if i == 0 else f"{stem}-{i}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new session folder in {parent}")


def frame_input(item: QueuedFrame) -> FrameInput:
    """Return the core's input for a queued frame (pixels as native float32)."""
    header = item.message.header
    return FrameInput(
        series=header.series,
        seq=header.seq,
        t_s=header.t,
        image=item.message.image.astype(np.float32),
        pixel_size_nm=header.pixel_size_nm,
        frame_interval_s=header.frame_interval_s,
        mask=item.message.mask,
        received_s=item.received_s,
    )


@dataclass(frozen=True)
class Endpoints:
    """Where the running server listens (addresses a local client can connect to)."""

    ingest: str
    publish: str
    metrics_url: str | None
    session_folder: Path | None


class IntervalStats:
    """Batch sizes and latencies since the last status message (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: list[int] = []
        self._latencies: list[float] = []

    def take(self) -> tuple[list[int], list[float]]:
        """Return and clear the batch sizes and latencies (s) collected so far."""
        with self._lock:
            old = (self._batches, self._latencies)
            self._batches, self._latencies = [], []
            return old

    def add_batch(self, size: int) -> None:
        """Record one engine batch of ``size`` frames."""
        with self._lock:
            self._batches.append(size)

    def add_latency(self, latency_s: float) -> None:
        """Record one frame latency (s)."""
        with self._lock:
            self._latencies.append(latency_s)


class Server:
    """The live pipeline (see the module docstring)."""

    def __init__(self, config: Config | None = None, engine: Engine | None = None) -> None:
        self.config = config or Config()
        self.metrics = PipelineMetrics()
        self._engine = engine
        self._stop_status = threading.Event()
        self._stats = IntervalStats()
        self._started = False
        self._stopped = False
        self._active_tracks = 0
        self._cleanup: list[Callable[[], None]] = []
        self.endpoints: Endpoints | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Endpoints:
        """Bind the sockets, start the threads; return the endpoints. Raises if a bind fails."""
        if self._started:
            raise RuntimeError("server already started")
        self._started = True
        try:
            return self._start()
        except BaseException:
            self._stopped = True
            self._release()
            raise

    def _start(self) -> Endpoints:
        cfg = self.config
        self.engine = self._engine or create_engine(cfg.engine)
        self.processor = FrameProcessor(self.engine, cfg.tracker, cfg.integration)
        metrics_url = None
        if cfg.metrics.enabled:
            http, port = serve_metrics_http(self.metrics, cfg.metrics.host, cfg.metrics.port)
            self._cleanup.append(lambda: (http.shutdown(), http.server_close()))
            host = "127.0.0.1" if cfg.metrics.host in ("0.0.0.0", "") else cfg.metrics.host
            metrics_url = f"http://{host}:{port}/metrics"
        self.context = zmq.Context()
        self._cleanup.append(lambda: self.context.term())
        self.publisher = Publisher(
            self.context, cfg.publish.endpoint, cfg.publish.bind, cfg.publish.sndhwm
        )
        self._cleanup.append(self.publisher.close)
        self.queue = make_queue(cfg.ingest)
        self.ingest = Ingest(self.context, cfg.ingest, self.queue, self.metrics)
        self._cleanup.append(self.ingest.socket.close)
        self.recorder = None  # made once the sockets are bound: no empty session folders
        folder = None
        if cfg.record.enabled:
            folder = new_session_folder(Path(cfg.record.folder))
            (folder / "config.json").write_text(
                json.dumps(config_as_dict(cfg), indent=2, default=str)
            )
            self.recorder = SessionRecorder(folder, cfg.record.save_labels, cfg.record.save_raw)
            self._cleanup.append(self.recorder.close)
        self.batcher = Batcher(self.queue, cfg.batching.max_batch, cfg.batching.max_wait_ms / 1e3)
        self._draining = threading.Event()
        # Two stages overlap: the engine segments batch n + 1 while batch n is measured, tracked,
        # published and recorded; a bounded hand-off keeps them in order.
        self._handoff: queue.Queue[object] = queue.Queue(maxsize=HANDOFF_DEPTH)
        self._worker = threading.Thread(
            target=self._segment_loop, name="nanolive-segment", daemon=True
        )
        self._post = threading.Thread(target=self._post_loop, name="nanolive-post", daemon=True)
        self._status = threading.Thread(
            target=self._status_loop, name="nanolive-status", daemon=True
        )
        self._status_t = time.monotonic()
        self._status_prev = self.metrics.accounting()
        self._worker.start()
        self._post.start()
        self._status.start()
        self.ingest.start()
        self.endpoints = Endpoints(
            ingest=connect_address(self.ingest.endpoint),
            publish=connect_address(self.publisher.endpoint),
            metrics_url=metrics_url,
            session_folder=folder,
        )
        log.info(
            "serving: frames in %s, results out %s, metrics %s, engine %s, session %s",
            self.endpoints.ingest,
            self.endpoints.publish,
            metrics_url,
            self.engine.name,
            folder,
        )
        return self.endpoints

    def stop(self, drain_timeout_s: float = 60.0) -> Accounting:
        """Stop reading, drain the frames received, close open series; return the final accounting."""
        if not self._started or self._stopped:
            return self.metrics.accounting()
        self._stopped = True
        self.ingest.stop()
        for name in self.ingest.close_open_series("shutdown"):
            log.info("series %r still open at shutdown: closed", name)
        self.queue.close()
        self._draining.set()
        deadline = time.monotonic() + drain_timeout_s
        for worker in (self._worker, self._post):
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                log.error("%s did not drain within %.0f s", worker.name, drain_timeout_s)
        self._stop_status.set()
        self._status.join(5.0)
        self._publish_status()
        accounting = self.metrics.accounting()
        if self.endpoints and self.endpoints.session_folder:
            path = self.endpoints.session_folder / "accounting.json"
            path.write_text(json.dumps(accounting.as_dict(), indent=2))
        self._release()
        log.info("stopped: %s", accounting.as_dict())
        return accounting

    def _release(self) -> None:
        for fn in reversed(self._cleanup):
            try:
                fn()
            except Exception:  # release the rest even if one fails
                log.exception("error while releasing the server")
        self._cleanup.clear()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def accounting(self) -> Accounting:
        """Return the current frame accounting."""
        return self.metrics.accounting()

    def wait_until(self, predicate: Callable[[Accounting], bool], timeout_s: float) -> bool:
        """Wait until ``predicate(accounting)`` holds; return False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self.metrics.accounting()):
                return True
            time.sleep(0.01)
        return predicate(self.metrics.accounting())

    # -- worker -------------------------------------------------------------------------------

    def _segment_loop(self) -> None:
        """Stage 1: batches from the queue through the engine, in order, onto the hand-off."""
        try:
            while True:
                got = self.batcher.next(WORKER_POLL_S)
                if got is None:
                    if self._draining.is_set() and len(self.queue) == 0:
                        return
                    continue
                if isinstance(got, SeriesClosed):
                    self._handoff.put(got)
                else:
                    self._handoff.put((got, self._segment(got)))
                self.metrics.queue_depth.set(self.queue.depth)
        finally:
            self._handoff.put(_DONE)

    def _segment(self, batch: list[QueuedFrame]) -> SegmentedBatch | None:
        now = time.monotonic()
        for item in batch:
            self.metrics.stage.labels("queue").observe(now - item.received_s)
        self.metrics.batch_size.observe(len(batch))
        self._stats.add_batch(len(batch))
        try:
            return self.processor.segment_batch([frame_input(item) for item in batch])
        except Exception:  # the core catches engine errors per frame; this is a last resort
            log.exception("internal error segmenting a batch of %d frames", len(batch))
            return None

    def _post_loop(self) -> None:
        """Stage 2: measure, track, publish and record each segmented batch, in order."""
        while True:
            got = self._handoff.get()
            if got is _DONE:
                return
            if isinstance(got, SeriesClosed):
                self._finish_series(got)
            else:
                batch, segmented = got  # type: ignore[misc]
                self._process(batch, segmented)

    def _process(self, batch: list[QueuedFrame], segmented: SegmentedBatch | None) -> None:
        try:
            if segmented is None:
                raise RuntimeError("segmentation stage failed")
            outcomes = self.processor.finish_batch(segmented)
        except Exception:  # the core catches engine and analysis errors; this is a last resort
            log.exception("internal error on a batch of %d frames", len(batch))
            self.metrics.count_dropped("internal_error", len(batch))
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, FrameFailure):
                self.metrics.count_dropped(outcome.reason)
                continue
            try:
                self._emit(outcome, item)
            except Exception:  # after the frame was counted: log, keep the worker alive
                log.exception("internal error after series %r seq %d", outcome.series, outcome.seq)

    def _emit(self, result: FrameResult, item: QueuedFrame) -> None:
        m = self.metrics
        t0 = time.perf_counter()
        latency = time.monotonic() - item.received_s
        try:
            self.publisher.send_result(result, latency, particles=self.config.publish.particles)
        except Exception:
            log.exception("could not publish series %r seq %d", result.series, result.seq)
            m.count_dropped("publish_error")
            return
        t1 = time.perf_counter()
        m.count_processed()
        m.latency.observe(latency)
        self._stats.add_latency(latency)
        for stage in ("segment", "measure", "track"):
            m.stage.labels(stage).observe(result.timings.get(stage, 0.0))
        m.stage.labels("publish").observe(t1 - t0)
        m.particles.observe(result.count)
        self._active_tracks = self.processor.active_tracks  # read by the status thread
        m.active_tracks.set(self._active_tracks)
        self._set_diameter(result)
        if self.recorder is not None:
            try:
                raw = item.message.image if self.config.record.save_raw else None
                self.recorder.write_result(result, raw=raw)
            except Exception:  # never stop serving because the disk failed; say it loudly
                log.exception("could not record series %r seq %d", result.series, result.seq)
            m.stage.labels("record").observe(time.perf_counter() - t1)

    def _set_diameter(self, result: FrameResult) -> None:
        if result.count == 0:
            return
        px = result.particles.get("diameter_equivalent_px")
        if px is not None:
            self.metrics.diameter_mean_px.set(float(np.mean(px)))
            if result.pixel_size_nm:
                self.metrics.diameter_mean_m.set(float(np.mean(px)) * result.pixel_size_nm * 1e-9)

    def _finish_series(self, marker: SeriesClosed) -> None:
        try:
            events = self.processor.finish_series(marker.series)
        except Exception:
            log.exception("tracker of series %r failed to finish", marker.series)
            events = []
        try:
            self.publisher.send("events", events_payload(marker.series, None, events))
            if self.recorder is not None:
                self.recorder.write_events(marker.series, events)
                self.recorder.close_source(marker.series)
        except Exception:
            log.exception("could not publish/record the end of series %r", marker.series)
        self._active_tracks = self.processor.active_tracks
        self.metrics.active_tracks.set(self._active_tracks)
        log.info("series %r closed (%s)", marker.series, marker.reason)

    # -- status -------------------------------------------------------------------------------

    def _status_loop(self) -> None:
        while not self._stop_status.wait(self.config.publish.status_interval_s):
            try:
                self._publish_status()
            except Exception:
                log.exception("could not publish status")

    def status_payload(self) -> dict[str, object]:
        """Return the ``status`` payload: rates since the last status (frames/s), counts, queue."""
        now = time.monotonic()
        acc = self.metrics.accounting()
        prev = self._status_prev
        dt = max(now - self._status_t, 1e-9)
        batches, latencies = self._stats.take()
        self._status_prev, self._status_t = acc, now
        depth = self.queue.depth
        self.metrics.queue_depth.set(depth)
        self.metrics.open_series.set(self.ingest.open_series)
        return {
            "fps_in": (acc.received - prev.received) / dt,
            "fps_out": (acc.processed - prev.processed) / dt,
            "queue_depth": depth,
            "queue_size": self.config.ingest.queue_size,
            "policy": self.config.ingest.policy,
            "batch_size_mean": float(np.mean(batches)) if batches else 0.0,
            "latency_s_mean": float(np.mean(latencies)) if latencies else None,
            "latency_s_max": float(np.max(latencies)) if latencies else None,
            "engine": self.engine.name,
            "open_series": self.ingest.open_series,
            "active_tracks": self._active_tracks,
            **acc.as_dict(),
        }

    def _publish_status(self) -> None:
        self.publisher.send("status", self.status_payload())
