"""The result publisher: a ZeroMQ PUB socket sending ``[topic, msgpack payload]`` messages.

Topics (bytes): ``frame``, ``particles``, ``events``, ``status``. The payload builders are pure
functions of the results; :class:`Publisher` only owns the socket. A PUB socket never blocks: a slow
subscriber loses messages at its high-water mark, the pipeline does not wait (the session recording
on disk is the lossless copy).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import msgpack
import numpy as np
import zmq
from nanolive.trackers import TrackEvent

from .pipeline import FrameResult

TOPICS: tuple[str, ...] = ("frame", "particles", "events", "status")


def plain(value: object) -> object:
    """Return ``value`` with numpy scalars/arrays turned into Python numbers/lists (for msgpack)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def frame_payload(result: FrameResult, latency_s: float) -> dict[str, object]:
    """Return the ``frame`` payload: ids, time (s), latency (s), count, tracked count (confirmed
    detections + coasting tracks), active tracks and metrics."""
    return {
        "series": result.series,
        "seq": result.seq,
        "t": result.t_s,
        "latency_s": latency_s,
        "shape": list(result.shape),
        "pixel_size_nm": result.pixel_size_nm,
        "count": result.count,
        "tracked_count": result.tracked_count,
        "active_tracks": result.active_tracks,
        "metrics": plain(result.metrics),
        "timings_s": plain(result.timings),
    }


def particles_payload(result: FrameResult) -> dict[str, object]:
    """Return the ``particles`` payload: the frame's particle table as columns (lists)."""
    return {
        "series": result.series,
        "seq": result.seq,
        "t": result.t_s,
        "columns": {name: plain(col) for name, col in result.particles.items()},
    }


def event_record(event: TrackEvent) -> dict[str, object]:
    """Return one track event as plain data (frame = seq of the series; x, y in px)."""
    return {
        "kind": event.kind,
        "frame": int(event.frame),
        "t_s": float(event.t_s) if event.t_s is not None else None,
        "parents": [int(p) for p in event.parents],
        "children": [int(c) for c in event.children],
        "x": float(event.x),
        "y": float(event.y),
        "reason": event.reason,
    }


def events_payload(series: str, seq: int | None, events: list[TrackEvent]) -> dict[str, object]:
    """Return the ``events`` payload of one frame (``seq`` None for the closing events of a series)."""
    return {"series": series, "seq": seq, "events": [event_record(e) for e in events]}


def encode(topic: str, payload: Mapping[str, object]) -> list[bytes]:
    """Return the multipart message ``[topic, msgpack payload]``."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}; topics are {TOPICS}")
    return [topic.encode(), msgpack.packb(plain(payload))]


class Publisher:
    """A PUB socket bound (or connected) to ``endpoint``; thread-safe ``send``."""

    def __init__(self, context: zmq.Context, endpoint: str, bind: bool, sndhwm: int) -> None:
        self.socket = context.socket(zmq.PUB)
        self.socket.setsockopt(zmq.SNDHWM, sndhwm)
        self.socket.setsockopt(zmq.LINGER, 500)
        try:
            if bind:
                self.socket.bind(endpoint)
            else:
                self.socket.connect(endpoint)
        except zmq.ZMQError as exc:
            self.socket.close()  # an open socket would block the context's term()
            raise zmq.ZMQError(exc.errno, f"result endpoint {endpoint}: {exc}") from None
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT) if bind else endpoint
        self._lock = threading.Lock()

    def send(self, topic: str, payload: Mapping[str, object]) -> None:
        """Publish one message (never blocks; dropped for subscribers at their high-water mark)."""
        parts = encode(topic, payload)
        with self._lock:
            self.socket.send_multipart(parts)

    def send_result(self, result: FrameResult, latency_s: float, particles: bool = True) -> None:
        """Publish the ``frame``, ``particles`` (optional) and ``events`` (if any) of one result."""
        self.send("frame", frame_payload(result, latency_s))
        if particles:
            self.send("particles", particles_payload(result))
        if result.events:
            self.send("events", events_payload(result.series, result.seq, list(result.events)))

    def close(self) -> None:
        """Close the socket (pending messages get 0.5 s to leave)."""
        with self._lock:
            self.socket.close()
