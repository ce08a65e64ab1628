"""Live load: a real ``nanolive serve`` subprocess fed over loopback ZeroMQ, results timed on arrival.

Rules (also written into docs/benchmarks.md):
- The pipeline runs as a subprocess started with the ordinary serve options (recording to a temporary
  folder included), on 127.0.0.1 with OS-chosen ports. The load generator (a sender) and a subscriber to
  the ``frame`` and ``status`` topics run in the benchmark process on the same machine.
- Frames are simulated before a level starts (never during it) and sent as uint16 counts, cycling over
  a pool of consecutive frames of one video.
- Latency = arrival time of the ``frame`` result at the subscriber minus the send time stamped into the
  frame header (``t``, the same machine clock): it covers send, ZeroMQ, decode, queue, batching,
  segmentation, measurement, tracking, metrics and publication.
- Offered rates are open loop: frame k leaves at start + k / fps, whatever the pipeline does (a sender
  blocked by backpressure falls behind and the achieved send rate shows it). A level stops early, marked
  ``saturated``, when a frame has waited longer than ``stale_s`` for its result.
- The maximum rate is closed loop: at most ``window`` frames are in flight (sent, result not yet in).
- Throughput = results received / time from the first to the last send of the level plus the last
  result's latency. Drops come from the pipeline's own counters (/metrics, by reason); frames sent but
  neither received nor dropped are reported as ``lost``.
- Per-stage times are the mean per frame from the pipeline's stage histograms over the level; CPU is the
  serve process's user + system time over the level's wall time (1.0 = one core busy); memory is its
  resident set size at the end of the level and its peak.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgpack
import numpy as np
import zmq

from . import promtext

log = logging.getLogger(__name__)

READY_RE = re.compile(
    r"frames in (?P<ingest>\S+)\s+results out (?P<publish>\S+)\s+metrics (?P<metrics>\S+)"
    r".*engine (?P<engine>\S+)"
)
STOPPED_RE = re.compile(r"stopped; (?P<acc>\{.*\})")


# -- the serve process ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServeOptions:
    """How to start the pipeline: engine name ("noop" = the no-op engine), batching, extra options."""

    engine: str = "classical"
    max_batch: int = 4
    max_wait_ms: float = 10.0
    extra: tuple[str, ...] = ()

    def command(self, record_dir: str) -> list[str]:
        """Return the subprocess command line."""
        module = "nanolive.bench.noop_serve" if self.engine == "noop" else "nanolive.stream.cli"
        head = [sys.executable, "-m", module] + ([] if self.engine == "noop" else ["serve"])
        args = [
            "--listen",
            "tcp://127.0.0.1:*",
            "--publish",
            "tcp://127.0.0.1:*",
            "--metrics-port",
            "0",
            "--set",
            'metrics.host="127.0.0.1"',
            "--max-batch",
            str(self.max_batch),
            "--max-wait-ms",
            str(self.max_wait_ms),
            "--record-dir",
            record_dir,
        ]
        if self.engine != "noop":
            from .backends import serve_args

            args += serve_args(self.engine)
        return head + args + list(self.extra)


class ServeProcess:
    """A running pipeline subprocess; use as a context manager (stops it with SIGINT)."""

    def __init__(self, options: ServeOptions, start_timeout_s: float = 120.0) -> None:
        self.options = options
        self._tmp = tempfile.TemporaryDirectory(prefix="nanolive-bench-")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            options.command(self._tmp.name),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(start_timeout_s) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(
                f"serve ({options.engine}) did not start: " + " | ".join(self.lines[-5:])
            )
        match = next(m for m in map(READY_RE.search, self.lines) if m)
        self.ingest = match["ingest"]
        self.publish = match["publish"]
        self.metrics_url = match["metrics"]
        self.engine = match["engine"]
        self.final_accounting: dict | None = None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if READY_RE.search(line):
                self._ready.set()
        self._ready.set()

    @property
    def pid(self) -> int:
        """Process id of the pipeline."""
        return self.proc.pid

    def stop(self, timeout_s: float = 120.0) -> int | None:
        """Stop the pipeline (SIGINT, then SIGKILL after ``timeout_s``); return its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.error("serve did not stop within %.0f s; killing it", timeout_s)
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5.0)
        for line in self.lines:
            m = STOPPED_RE.search(line)
            if m:
                try:
                    self.final_accounting = ast.literal_eval(m["acc"])
                except (ValueError, SyntaxError):
                    pass
        self._tmp.cleanup()
        return self.proc.returncode

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def process_usage(pid: int) -> dict[str, float]:
    """Return cpu_s (user + system, s), rss_mb and peak_rss_mb of a Linux process (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / ticks
    mem = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            mem[key] = int(value.split()[0]) / 1024
    return {"cpu_s": cpu_s, "rss_mb": mem.get("VmRSS", 0.0), "peak_rss_mb": mem.get("VmHWM", 0.0)}


# -- the subscriber -------------------------------------------------------------------------------


@dataclass
class Arrival:
    """One ``frame`` result: seq, send time t (s since epoch), arrival time (s since epoch)."""

    seq: int
    sent_t: float
    arrived_t: float
    count: int


@dataclass
class SeriesLog:
    """Results received for one series."""

    arrivals: list[Arrival] = field(default_factory=list)


class ResultSubscriber:
    """Subscribes to the ``frame`` and ``status`` topics and records arrivals per series."""

    def __init__(self, endpoint: str, context: zmq.Context) -> None:
        self.socket = context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.RCVHWM, 100_000)
        self.socket.setsockopt(zmq.LINGER, 0)
        for topic in (b"frame", b"status"):
            self.socket.setsockopt(zmq.SUBSCRIBE, topic)
        self.socket.connect(endpoint)
        self.series: dict[str, SeriesLog] = {}
        self.last_status: dict | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(50):
                continue
            parts = self.socket.recv_multipart()
            now = time.time()
            try:
                topic, payload = parts
                data = msgpack.unpackb(payload, raw=False)
            except ValueError:  # msgpack's errors derive from ValueError
                log.error("unexpected result message of %d parts; ignored", len(parts))
                continue
            with self._cond:
                if topic == b"frame":
                    log_ = self.series.setdefault(data["series"], SeriesLog())
                    log_.arrivals.append(
                        Arrival(int(data["seq"]), float(data["t"]), now, int(data["count"]))
                    )
                else:
                    self.last_status = data
                self._cond.notify_all()

    def received(self, series: str) -> int:
        """Results received so far for ``series``."""
        with self._cond:
            log_ = self.series.get(series)
            return len(log_.arrivals) if log_ else 0

    def wait(self, predicate, timeout_s: float) -> bool:  # noqa: ANN001 (callable of no argument)
        """Wait until ``predicate()`` holds (re-checked on every message); return it."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bool(predicate())
                self._cond.wait(min(remaining, 0.1))
            return True

    def wait_status(self, timeout_s: float) -> bool:
        """Wait for a status message (proves the subscription is live); return whether one came."""
        return self.wait(lambda: self.last_status is not None, timeout_s)

    def close(self) -> None:
        """Stop the thread and close the socket."""
        self._stop.set()
        self._thread.join(2.0)
        self.socket.close()


# -- one load level -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One load level: ``fps`` None = maximum rate (closed loop with ``window`` frames in flight)."""

    name: str
    images: Sequence[np.ndarray]
    fps: float | None
    seconds: float
    window: int = 4
    stale_s: float = 1.0
    drain_timeout_s: float = 60.0
    pixel_size_nm: float = 0.25


def latency_summary_ms(latencies_s: Sequence[float]) -> dict[str, float | None]:
    """Return p50, p95, p99, max and mean of latencies (s) in ms (None when empty)."""
    if not len(latencies_s):
        return {k: None for k in ("p50", "p95", "p99", "max", "mean")}
    ms = 1e3 * np.asarray(latencies_s, float)
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
        "mean": float(ms.mean()),
    }


def send_level(
    level: Level, series: str, sender: object, subscriber: ResultSubscriber
) -> tuple[list[float], bool]:
    """Send the frames of ``level`` as ``series``; return (send times, saturated)."""
    from nanolive.stream.protocol import encode_frame, header_for

    interval = 1.0 / level.fps if level.fps else None
    sent_t: list[float] = []
    start = time.monotonic()
    saturated = False
    seq = 0
    while time.monotonic() - start < level.seconds:
        done = subscriber.received(series)
        if level.fps is None:
            if not subscriber.wait(
                lambda n=seq: n - subscriber.received(series) < level.window, level.stale_s * 30
            ):
                saturated = True
                break
        else:
            due = start + seq * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if done < len(sent_t) and time.time() - sent_t[done] > level.stale_s:
                saturated = True
                break
        image = level.images[seq % len(level.images)]
        now = time.time()
        header = header_for(image, series, seq, now, level.pixel_size_nm, interval)
        sender.send_parts(encode_frame(header, image))
        sent_t.append(now)
        seq += 1
    sender.send_end(series)
    return sent_t, saturated


def run_level(level: Level, serve: ServeProcess, sender: object, sub: ResultSubscriber) -> dict:
    """Run one load level against a running pipeline; return its measurements."""
    series = f"bench-{level.name}-{time.monotonic_ns()}"
    before = promtext.scrape(serve.metrics_url)
    usage0 = process_usage(serve.pid)
    own0 = process_usage(os.getpid())
    wall0 = time.monotonic()
    sent_t, saturated = send_level(level, series, sender, sub)
    sent = len(sent_t)

    def settled() -> bool:
        dropped = sum(promtext.drops_by_reason(before, promtext.scrape(serve.metrics_url)).values())
        return sub.received(series) + dropped >= sent

    deadline = time.monotonic() + level.drain_timeout_s
    while time.monotonic() < deadline and not settled():
        sub.wait(lambda: sub.received(series) >= sent, 0.5)
    wall = time.monotonic() - wall0
    after = promtext.scrape(serve.metrics_url)
    usage1 = process_usage(serve.pid)
    own1 = process_usage(os.getpid())
    arrivals = list(sub.series.get(series, SeriesLog()).arrivals)
    latencies = [a.arrived_t - a.sent_t for a in arrivals]
    drops = promtext.drops_by_reason(before, after)
    received = len(arrivals)
    duration = (sent_t[-1] - sent_t[0] if sent > 1 else 0.0) + (latencies[-1] if latencies else 0)
    throughput = received / duration if duration > 0 else None
    send_rate = (sent - 1) / (sent_t[-1] - sent_t[0]) if sent > 1 else None
    lost = sent - received - sum(drops.values())
    result = {
        "name": level.name,
        "side_px": int(level.images[0].shape[0]),
        "offered_fps": level.fps,
        "mode": "closed_loop" if level.fps is None else "open_loop",
        "window": level.window if level.fps is None else None,
        "seconds": level.seconds,
        "sent": sent,
        "send_rate_fps": send_rate,
        "received": received,
        "throughput_fps": throughput,
        "latency_ms": latency_summary_ms(latencies),
        "latencies_ms": [round(1e3 * v, 3) for v in latencies],
        "drops": drops,
        "dropped_total": int(sum(drops.values())),
        "lost": int(max(lost, 0)),
        "unfinished": int(max(lost, 0)) if not settled() else 0,
        "saturated": saturated,
        "stage_ms": promtext.stage_means_ms(before, after),
        "batch_size_mean": promtext.batch_size_mean(before, after),
        "cpu_cores_used": (usage1["cpu_s"] - usage0["cpu_s"]) / wall if wall > 0 else None,
        "load_generator_cpu_cores": (own1["cpu_s"] - own0["cpu_s"]) / wall if wall > 0 else None,
        "rss_mb": usage1["rss_mb"],
        "peak_rss_mb": usage1["peak_rss_mb"],
        "particles_per_frame_mean": float(np.mean([a.count for a in arrivals]))
        if arrivals
        else None,
    }
    result["sustained"] = (
        None
        if level.fps is None
        else bool(
            not saturated
            and received == sent
            and result["dropped_total"] == 0
            and send_rate is not None
            and send_rate >= 0.95 * level.fps
            and throughput is not None
            and throughput >= 0.95 * level.fps
        )
    )
    return result


class LiveSession:
    """A pipeline subprocess with a connected sender and subscriber, ready to run levels."""

    def __init__(self, options: ServeOptions) -> None:
        from nanolive.stream.acquire import FrameSender

        self._closed = False
        self.serve = ServeProcess(options)
        self.context = zmq.Context()
        try:
            self.subscriber = ResultSubscriber(self.serve.publish, self.context)
            if not self.subscriber.wait_status(10.0):
                raise RuntimeError("no status message from the pipeline within 10 s")
            self.sender = FrameSender(self.serve.ingest, send_timeout_s=60.0, context=self.context)
        except BaseException:
            self.serve.stop()
            self.context.term()
            raise

    def run(self, level: Level) -> dict:
        """Run one level and return its measurements (engine name included)."""
        out = run_level(level, self.serve, self.sender, self.subscriber)
        out["engine"] = self.serve.options.engine
        out["engine_reported"] = self.serve.engine
        out["max_batch"] = self.serve.options.max_batch
        out["max_wait_ms"] = self.serve.options.max_wait_ms
        return out

    def close(self) -> dict | None:
        """Stop everything (once); return the pipeline's final frame accounting (None if the
        pipeline did not report it: see ``serve.lines`` and ``serve.proc.returncode``)."""
        if not self._closed:
            self._closed = True
            self.sender.close()
            self.subscriber.close()
            self.serve.stop()
            self.context.term()
            if self.serve.final_accounting is None:
                log.error(
                    "serve exited with %s and no accounting; last output: %s",
                    self.serve.proc.returncode,
                    " | ".join(self.serve.lines[-8:]),
                )
        return self.serve.final_accounting

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
