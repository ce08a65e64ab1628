"""Prometheus metrics and the exact frame accounting of one pipeline instance.

The registry belongs to a :class:`PipelineMetrics` object (never the process-global default), so
several pipelines can run in one process (tests). Every name starts with ``nanolive_`` and is in base
units (seconds, meters, bytes). The accounting identity kept here is
``received = processed + dropped (by reason) + in flight``; in flight is 0 once the pipeline is drained.
"""

from __future__ import annotations

import threading
from collections import Counter as CountBag
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

STAGES: tuple[str, ...] = ("decode", "queue", "segment", "measure", "track", "publish", "record")
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STAGE_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


@dataclass(frozen=True)
class Accounting:
    """A consistent snapshot of the frame counts (frames, not bytes)."""

    received: int
    processed: int
    dropped: dict[str, int]
    bad_messages: dict[str, int]
    series_closed: dict[str, int]
    missing: int

    @property
    def dropped_total(self) -> int:
        """All dropped frames, every reason together."""
        return sum(self.dropped.values())

    @property
    def in_flight(self) -> int:
        """Frames received but neither processed nor dropped yet."""
        return self.received - self.processed - self.dropped_total

    def as_dict(self) -> dict[str, object]:
        """Return the snapshot as plain data (for JSON, msgpack, logs)."""
        return {
            "received": self.received,
            "processed": self.processed,
            "dropped": dict(self.dropped),
            "dropped_total": self.dropped_total,
            "in_flight": self.in_flight,
            "bad_messages": dict(self.bad_messages),
            "series_closed": dict(self.series_closed),
            "missing": self.missing,
        }


@dataclass
class _Counts:
    received: int = 0
    processed: int = 0
    missing: int = 0
    dropped: CountBag = field(default_factory=CountBag)
    bad: CountBag = field(default_factory=CountBag)
    closed: CountBag = field(default_factory=CountBag)


class PipelineMetrics:
    """Owns the Prometheus registry of one pipeline and the exact counts behind it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._lock = threading.Lock()
        self._counts = _Counts()
        self.received = Counter(
            "nanolive_frames_received",
            "Frame messages received (every message but a valid end)",
            registry=r,
        )
        self.processed = Counter(
            "nanolive_frames_processed",
            "Frames segmented, measured, tracked and published",
            registry=r,
        )
        self.dropped = Counter(
            "nanolive_frames_dropped",
            "Received frames not processed, by reason",
            ["reason"],
            registry=r,
        )
        self.bad_messages = Counter(
            "nanolive_bad_messages",
            "Messages rejected by validation, by reason",
            ["reason"],
            registry=r,
        )
        self.series_closed = Counter(
            "nanolive_series_closed",
            "Series closed, by reason (end or sender_vanished)",
            ["reason"],
            registry=r,
        )
        self.missing = Counter(
            "nanolive_frames_missing",
            "Frames skipped by the sender (seq gaps), never received",
            registry=r,
        )
        self.received_bytes = Counter(
            "nanolive_received_bytes", "Payload bytes of accepted frames", registry=r
        )
        self.latency = Histogram(
            "nanolive_frame_latency_seconds",
            "Time from frame receipt to the publication of its result",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.stage = Histogram(
            "nanolive_stage_seconds",
            "Time per frame spent in each stage (segment time is per batch / batch size)",
            ["stage"],
            buckets=STAGE_BUCKETS_S,
            registry=r,
        )
        self.queue_depth = Gauge(
            "nanolive_queue_depth", "Frames waiting in the ingest queue", registry=r
        )
        self.batch_size = Histogram(
            "nanolive_batch_size",
            "Frames per engine batch",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.particles = Histogram(
            "nanolive_particles_per_frame",
            "Particles found per frame",
            buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
            registry=r,
        )
        self.active_tracks = Gauge(
            "nanolive_active_tracks", "Tracks alive over all open series", registry=r
        )
        self.diameter_mean_m = Gauge(
            "nanolive_particle_diameter_mean_meters",
            "Mean equivalent diameter of the last frame's particles (needs pixel_size_nm)",
            registry=r,
        )
        self.diameter_mean_px = Gauge(
            "nanolive_particle_diameter_mean_pixels",
            "Mean equivalent diameter of the last frame's particles in px",
            registry=r,
        )
        self.open_series = Gauge("nanolive_open_series", "Series currently open", registry=r)
        for stage in STAGES:
            self.stage.labels(stage)

    # -- accounting (exact counts, mirrored to Prometheus) -------------------------------------

    def count_received(self, nbytes: int = 0) -> None:
        """Count one received frame message (``nbytes`` of accepted payload)."""
        with self._lock:
            self._counts.received += 1
        self.received.inc()
        if nbytes:
            self.received_bytes.inc(nbytes)

    def count_processed(self, n: int = 1) -> None:
        """Count ``n`` frames whose results were published."""
        with self._lock:
            self._counts.processed += n
        self.processed.inc(n)

    def count_dropped(self, reason: str, n: int = 1) -> None:
        """Count ``n`` received frames dropped for ``reason``."""
        with self._lock:
            self._counts.dropped[reason] += n
        self.dropped.labels(reason).inc(n)

    def count_bad(self, reason: str) -> None:
        """Count one message rejected by validation for ``reason``."""
        with self._lock:
            self._counts.bad[reason] += 1
        self.bad_messages.labels(reason).inc()

    def count_series_closed(self, reason: str) -> None:
        """Count one closed series (``end`` or ``sender_vanished``)."""
        with self._lock:
            self._counts.closed[reason] += 1
        self.series_closed.labels(reason).inc()

    def count_missing(self, n: int) -> None:
        """Count ``n`` frames the sender skipped (seq gap)."""
        with self._lock:
            self._counts.missing += n
        self.missing.inc(n)

    def accounting(self) -> Accounting:
        """Return a consistent snapshot of the counts."""
        with self._lock:
            c = self._counts
            return Accounting(
                received=c.received,
                processed=c.processed,
                dropped=dict(c.dropped),
                bad_messages=dict(c.bad),
                series_closed=dict(c.closed),
                missing=c.missing,
            )


def serve_metrics_http(metrics: PipelineMetrics, host: str, port: int) -> tuple[object, int]:
    """Serve ``metrics`` at http://host:port/metrics in a daemon thread; return (server, bound port).

    Port 0 picks a free port. Call ``server.shutdown()`` to stop it.
    """
    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    return server, int(server.server_address[1])
