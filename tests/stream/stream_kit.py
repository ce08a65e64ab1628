"""Helpers of the stream tests: an in-process server on loopback ports, a plain pyzmq client, and
stand-in engines (slow, failing). Imported by the test modules (conftest puts this folder on sys.path).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import msgpack
import numpy as np
import zmq
from nanolive.stream.config import Config
from nanolive.stream.protocol import encode_end, encode_frame, header_for
from nanolive.stream.server import Server
from scipy import ndimage as ndi


def loopback_config(tmp_path: Path, **sections: dict) -> Config:
    """Return a Config on free loopback ports, recording under tmp_path, fast status messages,
    classical engine."""
    base = Config()
    changes = {
        "ingest": dataclasses.replace(
            base.ingest, endpoint="tcp://127.0.0.1:0", log_interval_s=0.0, series_timeout_s=5.0
        ),
        "publish": dataclasses.replace(
            base.publish, endpoint="tcp://127.0.0.1:0", status_interval_s=0.1
        ),
        "metrics": dataclasses.replace(base.metrics, host="127.0.0.1", port=0),
        "record": dataclasses.replace(base.record, folder=str(tmp_path / "sessions")),
        # the transport tests pin the classical engine: deterministic, fast, no model file
        "engine": dataclasses.replace(base.engine, name="classical"),
    }
    for name, values in sections.items():
        changes[name] = dataclasses.replace(changes.get(name, getattr(base, name)), **values)
    return dataclasses.replace(base, **changes)


def disks_image(shape: tuple[int, int], centres: list[tuple[int, int]], radius: int, dtype: str):
    """Return an image with bright disks (value 200 on 20) at (row, col) centres, in ``dtype``."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.full(shape, 20.0)
    for r, c in centres:
        image[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] = 200.0
    return image.astype(np.dtype(dtype))


class Client:
    """A plain pyzmq sender (PUSH) and subscriber (SUB, all topics) for a running server."""

    def __init__(self, server: Server) -> None:
        assert server.endpoints is not None
        self.context = zmq.Context()
        self.push = self.context.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 1000)
        self.push.setsockopt(zmq.SNDTIMEO, 20000)
        self.push.connect(server.endpoints.ingest)
        self.sub = self.context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect(server.endpoints.publish)
        self.messages: list[tuple[str, dict]] = []
        self.wait_for(lambda: any(t == "status" for t, _ in self.messages), 10.0)

    def send(self, parts: list[bytes]) -> None:
        self.push.send_multipart(parts)

    def send_frame(self, image: np.ndarray, series: str = "s", seq: int = 0, **kw: object) -> None:
        self.send(encode_frame(header_for(image, series, seq, time.time(), **kw), image))

    def send_end(self, series: str = "s") -> None:
        self.send(encode_end(series))

    def receive(self, timeout_s: float = 0.05) -> None:
        while self.sub.poll(int(timeout_s * 1000)):
            topic, payload = self.sub.recv_multipart()
            self.messages.append((topic.decode(), msgpack.unpackb(payload)))
            timeout_s = 0.0

    def wait_for(self, predicate, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.receive(0.05)
            if predicate():
                return True
        return predicate()

    def topic(self, name: str) -> list[dict]:
        return [p for t, p in self.messages if t == name]

    def close(self) -> None:
        self.push.close()
        self.sub.close()
        self.context.term()


class SlowEngine:
    """Labels bright blobs (value > mean) after sleeping ``delay_s`` per frame: a stand-in for a
    slower accelerator engine, to overload the pipeline on purpose."""

    name = "slow"

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.batches: list[int] = []

    def segment(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(len(batch))
        time.sleep(self.delay_s * len(batch))
        out = np.zeros(batch.shape, np.int32)
        for i, frame in enumerate(batch):
            out[i] = ndi.label(frame > frame.mean())[0]
        return out


class FlakyEngine(SlowEngine):
    """Raises on any batch holding a frame whose maximum is exactly 99 (the poison marker)."""

    name = "flaky"

    def segment(self, batch: np.ndarray) -> np.ndarray:
        if any(float(f.max()) == 99.0 for f in batch):
            raise RuntimeError("poisoned frame")
        return super().segment(batch)
