"""The ingest thread: owns the PULL socket, validates every message and accounts for it.

Each message is one of: a valid frame (counted as received, queued), a rejected frame (counted as
received, as a bad message and as dropped, both with the same reason, and logged), or a series end
(queued as a :class:`SeriesClosed` marker after that series' frames). A series silent for longer than
``series_timeout_s`` is closed as ``sender_vanished``. Log lines are rate-limited per reason.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import zmq

from .config import IngestConfig
from .framequeue import BoundedQueue, Closed
from .metrics import PipelineMetrics
from .protocol import EndMessage, FrameMessage, ProtocolError, decode_message
from .series import SeriesGuard

log = logging.getLogger(__name__)

POLL_MS = 100


@dataclass(frozen=True)
class QueuedFrame:
    """A validated frame waiting for the engine; ``received_s`` is the monotonic receipt time (s)."""

    message: FrameMessage
    received_s: float

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) in px."""
        return self.message.header.shape


@dataclass(frozen=True)
class SeriesClosed:
    """Marker queued after the last frame of a series; reason "end", "sender_vanished" or "shutdown"."""

    series: str
    reason: str


QueueItem = QueuedFrame | SeriesClosed


def is_frame(item: QueueItem) -> bool:
    """Return True for frames (the items the queue may drop), False for markers."""
    return isinstance(item, QueuedFrame)


def make_queue(config: IngestConfig) -> BoundedQueue[QueueItem]:
    """Return the ingest queue configured by ``config``."""
    return BoundedQueue(config.queue_size, config.policy, is_frame)


class RateLimitedLog:
    """Logs at most one line per key every ``interval_s`` seconds, then says how many were skipped."""

    def __init__(self, logger: logging.Logger, interval_s: float) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, key: str, message: str) -> bool:
        """Log ``message`` unless ``key`` was logged less than ``interval_s`` ago; return if logged."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._skipped[key] = self._skipped.get(key, 0) + 1
            return False
        skipped = self._skipped.pop(key, 0)
        suffix = f" ({skipped} more like this in the last {now - last:.0f} s)" if skipped else ""
        self.logger.warning("%s%s", message, suffix)
        self._last[key] = now
        return True


class Ingest:
    """The PULL socket and its thread; call :meth:`start`, then :meth:`stop` to stop reading."""

    def __init__(
        self,
        context: zmq.Context,
        config: IngestConfig,
        queue: BoundedQueue[QueueItem],
        metrics: PipelineMetrics,
    ) -> None:
        self.config = config
        self.queue = queue
        self.metrics = metrics
        self.guard = SeriesGuard(config.series_timeout_s)
        self.limits = config.limits
        self.bad_log = RateLimitedLog(log, config.log_interval_s)
        self.socket = context.socket(zmq.PULL)
        self.socket.setsockopt(zmq.RCVHWM, config.rcvhwm)
        self.socket.setsockopt(zmq.LINGER, 0)
        try:
            if config.bind:
                self.socket.bind(config.endpoint)
                self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
            else:
                self.socket.connect(config.endpoint)
                self.endpoint = config.endpoint
        except zmq.ZMQError as exc:
            self.socket.close()  # an open socket would block the context's term()
            raise zmq.ZMQError(exc.errno, f"frame endpoint {config.endpoint}: {exc}") from None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nanolive-ingest", daemon=True)

    def start(self) -> None:
        """Start reading the socket in the ingest thread."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop reading (messages still in the socket are not received) and close the socket."""
        self._stop.set()
        self._thread.join(timeout_s)
        self.socket.close()

    @property
    def open_series(self) -> int:
        """Series with frames and no end yet."""
        return len(self.guard.open)

    def close_open_series(self, reason: str) -> list[str]:
        """Close every open series with ``reason`` (after the thread stopped); return their names."""
        names = list(self.guard.open)
        for name in names:
            self.guard.end(name)
            self._close(name, reason)
        return names

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        next_expiry = time.monotonic() + 0.5
        while not self._stop.is_set():
            if poller.poll(POLL_MS):
                try:
                    frames = self.socket.recv_multipart(copy=False, flags=zmq.NOBLOCK)
                except zmq.Again:
                    continue
                self.handle([f.buffer for f in frames])
            now = time.monotonic()
            if now >= next_expiry:
                self._expire(now)
                next_expiry = now + 0.5

    def handle(self, parts: list[memoryview | bytes]) -> None:
        """Validate and account for one message, then queue it (the core of the ingest thread)."""
        received_s = time.monotonic()
        t0 = time.perf_counter()
        try:
            message = decode_message(parts, self.limits)
        except ProtocolError as exc:
            self.metrics.count_received()
            self._reject(exc)
            return
        if isinstance(message, EndMessage):
            if self.guard.end(message.series) is None:
                log.info("end of series %r, which sent no accepted frame", message.series)
            self._close(message.series, "end")
            return
        header = message.header
        self.metrics.count_received(message.nbytes)
        try:
            gap = self.guard.accept(header.series, header.seq, received_s)
        except ProtocolError as exc:
            self._reject(exc)
            return
        if gap:
            self.metrics.count_missing(gap)
            self.bad_log.warning(
                "missing",
                f"series {header.series!r}: {gap} frame(s) missing before seq {header.seq}",
            )
        self.metrics.stage.labels("decode").observe(time.perf_counter() - t0)
        self._enqueue(QueuedFrame(message, received_s))

    def _reject(self, exc: ProtocolError) -> None:
        self.metrics.count_bad(exc.reason)
        self.metrics.count_dropped(exc.reason)
        self.bad_log.warning(exc.reason, f"bad message dropped ({exc.reason}): {exc.detail}")

    def _enqueue(self, item: QueuedFrame) -> None:
        while True:
            try:
                dropped = self.queue.put(item, timeout_s=0.2)
            except Closed:
                self.metrics.count_dropped("shutdown")
                return
            if dropped == [item]:  # block policy timed out: retry unless stopping
                if self._stop.is_set():
                    self.metrics.count_dropped("shutdown")
                    return
                continue
            for _ in dropped:
                self.metrics.count_dropped("queue_full")
            if dropped:
                self.bad_log.warning("queue_full", "queue full: dropped the oldest frame(s)")
            return

    def _close(self, series: str, reason: str) -> None:
        self.metrics.count_series_closed(reason)
        try:
            self.queue.put(SeriesClosed(series, reason))
        except Closed:
            log.warning("series %r closed (%s) after the queue was closed", series, reason)

    def _expire(self, now_s: float) -> None:
        for series in self.guard.expire(now_s):
            log.warning(
                "series %r: no frame and no end message for %.1f s: sender vanished, series closed",
                series,
                self.config.series_timeout_s,
            )
            self._close(series, "sender_vanished")
