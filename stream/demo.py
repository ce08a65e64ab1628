"""`nanolive demo`: simulated acquisition -> pipeline -> live dashboard, all in one process.

The pipeline (:class:`~nanolive.stream.server.Server`) runs in its own threads, a sender thread
streams a simulated video to it over loopback TCP, and the dashboard subscribes to its results.
At the end the run is drained and the accounting is checked: every frame sent was received, and
received = processed + dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from typing import TextIO

import zmq

from .acquire import FrameSender, SendReport, simulated_frames, stream_frames
from .config import Config
from .metrics import Accounting
from .server import Endpoints, Server
from .watch import watch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    """The demo's run: duration (s), sending rate (frames/s), frame shape (rows, cols) in px, seed."""

    seconds: float = 30.0
    fps: float = 10.0
    shape: tuple[int, int] = (256, 256)
    seed: int = 0
    plain: bool | None = None

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"--seconds must be > 0, not {self.seconds}")
        if not self.fps > 0:
            raise ValueError(f"--fps must be > 0, not {self.fps}")
        if min(self.shape) < 32:
            raise ValueError(f"--shape must be at least 32 x 32 px, not {self.shape}")


@dataclass(frozen=True)
class DemoResult:
    """The outcome: what was sent, the pipeline's accounting, and whether they balance."""

    report: SendReport
    accounting: Accounting
    endpoints: Endpoints

    @property
    def balanced(self) -> bool:
        """True when every sent frame was received and each one was processed or dropped."""
        acc = self.accounting
        return self.report.sent == acc.received and acc.in_flight == 0

    @property
    def ok(self) -> bool:
        """True when the books balance and frames were processed."""
        return self.balanced and self.accounting.processed > 0


def local_config(config: Config, free_ports: bool) -> Config:
    """Return ``config`` listening on localhost only (any free ports when ``free_ports``)."""
    ingest_port = "0" if free_ports else config.ingest.endpoint.rsplit(":", 1)[-1]
    publish_port = "0" if free_ports else config.publish.endpoint.rsplit(":", 1)[-1]
    return dataclasses.replace(
        config,
        ingest=dataclasses.replace(
            config.ingest, endpoint=f"tcp://127.0.0.1:{ingest_port}", bind=True
        ),
        publish=dataclasses.replace(
            config.publish, endpoint=f"tcp://127.0.0.1:{publish_port}", bind=True
        ),
        metrics=dataclasses.replace(
            config.metrics, host="127.0.0.1", port=0 if free_ports else config.metrics.port
        ),
    )


def start_server(config: Config) -> Server:
    """Start a server on the configured ports, or on free ports if those are taken."""
    server = Server(local_config(config, free_ports=False))
    try:
        server.start()
        return server
    except (zmq.ZMQError, OSError) as exc:
        log.warning("default ports busy (%s); using free ports", exc)
    server = Server(local_config(config, free_ports=True))
    server.start()
    return server


def print_endpoints(out: TextIO, endpoints: Endpoints) -> None:
    """Print where each endpoint of the running pipeline is."""
    out.write(
        "nanolive demo\n"
        f"  frames in (PUSH here):        {endpoints.ingest}\n"
        f"  results out (SUB here):       {endpoints.publish}  topics frame, particles, events, status\n"
        f"  Prometheus metrics:           {endpoints.metrics_url}\n"
        f"  session recording:            {endpoints.session_folder}\n"
        f"  watch from another terminal:  nanolive watch --endpoint {endpoints.publish}\n\n"
    )
    out.flush()


class DrainedAfter:
    """``is_set()`` once ``done`` is set and the server has processed or dropped every frame."""

    def __init__(self, done: threading.Event, server: Server) -> None:
        self.done = done
        self.server = server

    def is_set(self) -> bool:
        """Return True when the sender is done and the pipeline has drained."""
        if not self.done.is_set():
            return False
        acc = self.server.accounting()
        return acc.series_closed.get("end", 0) >= 1 and acc.in_flight == 0


def run_demo(config: Config, options: DemoOptions, out: TextIO) -> DemoResult:
    """Run the demo for ``options.seconds`` and return its outcome (the server is stopped)."""
    server = start_server(config)
    endpoints = server.endpoints
    assert endpoints is not None
    print_endpoints(out, endpoints)
    interval = 1.0 / options.fps
    n_frames = max(1, int(round(options.seconds * options.fps)))
    frames, pixel_nm = simulated_frames(n_frames, options.seed, options.shape, interval)
    stop = threading.Event()
    done = threading.Event()
    reports: list[SendReport] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            with FrameSender(endpoints.ingest, send_timeout_s=30.0) as sender:
                reports.append(
                    stream_frames(sender, frames, "demo", options.fps, pixel_nm, interval, stop)
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    sender = threading.Thread(target=send, name="nanolive-demo-sender", daemon=True)
    sender.start()
    try:
        finished = DrainedAfter(done, server)
        watch(
            endpoints.publish,
            seconds=options.seconds + 10.0,
            out=out,
            plain=options.plain,
            stop=finished,
        )
    finally:
        stop.set()
        sender.join(60.0)
        server.wait_until(
            lambda a: a.series_closed.get("end", 0) >= 1 and a.in_flight == 0, timeout_s=60.0
        )
        accounting = server.stop()
    if errors:
        raise RuntimeError(f"the simulated sender failed: {errors[0]}") from errors[0]
    report = reports[0] if reports else SendReport("demo", 0, 0.0)
    return DemoResult(report, accounting, endpoints)


def summary_lines(result: DemoResult) -> list[str]:
    """Return the closing report of the demo."""
    acc = result.accounting
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(acc.dropped.items())) or "none"
    verdict = "OK: every frame accounted for" if result.ok else "FAILED: frames unaccounted for"
    return [
        "",
        f"sent {result.report.sent} frames in {result.report.elapsed_s:.1f} s "
        f"({result.report.fps:.1f} fps)",
        f"received {acc.received} = processed {acc.processed} + dropped {acc.dropped_total} "
        f"({reasons}) + in flight {acc.in_flight}",
        f"bad messages: {acc.bad_messages or 'none'}   series closed: {acc.series_closed}",
        f"results recorded in {result.endpoints.session_folder}",
        verdict,
    ]


def demo_main(config: Config, options: DemoOptions, out: TextIO) -> int:
    """Run the demo, print the accounting; return 0 when every frame is accounted for."""
    t0 = time.monotonic()
    result = run_demo(config, options, out)
    for line in summary_lines(result):
        out.write(line + "\n")
    out.write(f"demo finished in {time.monotonic() - t0:.1f} s\n")
    out.flush()
    return 0 if result.ok else 1
