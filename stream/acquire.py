"""The acquisition side: streams frames to the pipeline over the v1 wire protocol at a given rate.

Frames come from the simulator (``nanolive.sim.simulate_video``) or from a file (see
:mod:`nanolive.stream.files`). The PUSH socket connects to the pipeline by default; its high-water
mark is small so that a pipeline applying backpressure slows the sender down instead of letting
frames pile up in memory. A send that cannot complete within ``send_timeout_s`` fails with a clear
error (no pipeline listening, or one stalled).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import zmq

from .protocol import ALLOWED_DTYPES, encode_end, encode_frame, header_for

log = logging.getLogger(__name__)


class SendTimeout(RuntimeError):
    """No pipeline took a frame within the send timeout."""


@dataclass(frozen=True)
class OutgoingFrame:
    """One frame to send: image (rows, cols) in the dtype to put on the wire, optional uint8 mask."""

    image: np.ndarray
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class SendReport:
    """What a sender did: frames sent, elapsed wall time (s), achieved rate (frames/s)."""

    series: str
    sent: int
    elapsed_s: float

    @property
    def fps(self) -> float:
        """Frames per second achieved."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0


class FrameSender:
    """A PUSH socket speaking protocol v1."""

    def __init__(
        self,
        endpoint: str,
        bind: bool = False,
        sndhwm: int = 8,
        send_timeout_s: float = 30.0,
        context: zmq.Context | None = None,
    ) -> None:
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.socket = self.context.socket(zmq.PUSH)
        self.socket.setsockopt(zmq.SNDHWM, sndhwm)
        self.socket.setsockopt(zmq.IMMEDIATE, 1)  # queue only to a connected pipeline
        self.socket.setsockopt(zmq.SNDTIMEO, int(send_timeout_s * 1000))
        self.socket.setsockopt(zmq.LINGER, int(send_timeout_s * 1000))
        self.endpoint = endpoint
        self.send_timeout_s = send_timeout_s
        try:
            if bind:
                self.socket.bind(endpoint)
            else:
                self.socket.connect(endpoint)
        except zmq.ZMQError:
            self.close()
            raise

    def send_parts(self, parts: list[bytes]) -> None:
        """Send one multipart message; raise :class:`SendTimeout` if it cannot leave in time."""
        try:
            self.socket.send_multipart(parts, copy=len(parts[-1]) < 65536)
        except zmq.Again:
            raise SendTimeout(
                f"no pipeline took a frame at {self.endpoint} within {self.send_timeout_s:.0f} s"
            ) from None

    def send_end(self, series: str) -> None:
        """Send the end of ``series``."""
        self.send_parts(encode_end(series))

    def close(self) -> None:
        """Close the socket (pending frames get up to the send timeout to leave)."""
        self.socket.close()
        if self._own_context:
            self.context.term()

    def __enter__(self) -> FrameSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stream_frames(
    sender: FrameSender,
    frames: Iterable[OutgoingFrame],
    series: str,
    fps: float,
    pixel_size_nm: float | None = None,
    frame_interval_s: float | None = None,
    stop: threading.Event | None = None,
    end: bool = True,
) -> SendReport:
    """Send ``frames`` as ``series`` at ``fps`` frames/s (0 = as fast as accepted); end the series.

    ``t`` of each frame is the wall-clock time (s since the epoch) at sending. ``stop`` ends early.
    """
    if fps < 0:
        raise ValueError(f"fps must be >= 0, not {fps}")
    start = time.monotonic()
    sent = 0
    try:
        for seq, frame in enumerate(frames):
            if stop is not None and stop.is_set():
                break
            if fps > 0:
                delay = start + seq / fps - time.monotonic()
                if delay > 0 and (stop.wait(delay) if stop is not None else time.sleep(delay)):
                    break
            header = header_for(
                frame.image, series, seq, time.time(), pixel_size_nm, frame_interval_s
            )
            sender.send_parts(encode_frame(header, frame.image, frame.mask))
            sent += 1
    finally:
        if end:
            sender.send_end(series)
    return SendReport(series, sent, time.monotonic() - start)


def simulated_frames(
    n_frames: int,
    seed: int,
    shape: tuple[int, int] = (256, 256),
    frame_interval_s: float = 0.1,
    sparse_fraction: float = 1.0,
) -> tuple[Iterator[OutgoingFrame], float]:
    """Return (frames of a simulated video as float32 counts, pixel size in nm)."""
    from nanolive.sim import SimConfig, simulate_video

    scale = (shape[0] * shape[1]) / (512 * 512)
    config = SimConfig(
        shape=shape,
        frame_interval_s=frame_interval_s,
        n_particles=max(5.0, 150.0 * scale),
        sparse_fraction=sparse_fraction,
    )

    def frames() -> Iterator[OutgoingFrame]:
        for sim_frame in simulate_video(config, n_frames, seed):
            image = np.ascontiguousarray(sim_frame.image, dtype=np.float32)
            yield OutgoingFrame(image, sim_frame.mask if sparse_fraction < 1 else None)

    return frames(), config.pixel_size_nm


def file_frames(frames: Sequence[np.ndarray], repeat: int = 1) -> Iterator[OutgoingFrame]:
    """Yield the frames (N, rows, cols) of a file ``repeat`` times, in their own dtype when the
    protocol allows it, else as float32. Frames of an image sequence are read as they are sent (a
    bad file raises ValueError then)."""
    for _ in range(repeat):
        for index in range(len(frames)):
            image = np.asarray(frames[index])
            wire = image if image.dtype.str in ALLOWED_DTYPES else image.astype(np.float32)
            yield OutgoingFrame(np.ascontiguousarray(wire))
