"""A terminal dashboard subscribed to the pipeline's PUB socket (plain ANSI redraw, no curses).

:class:`DashboardState` folds the ``frame``, ``particles``, ``events`` and ``status`` messages into
what is shown; :func:`render` turns it into text lines (both pure). :func:`watch` owns the SUB
socket and redraws the terminal a few times per second.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

import msgpack
import numpy as np
import zmq

SPARK = " ▁▂▃▄▅▆▇█"
CLEAR = "\x1b[H\x1b[2J"
# Frame metrics shown, by name prefix (names of nanolive.analysis.frame_metrics; nm before px).
DASHBOARD_METRICS = (
    "diameter_equivalent_mean",
    "diameter_equivalent_std",
    "diameter_equivalent_d10",
    "diameter_equivalent_d90",
    "circularity_mean",
    "aspect_ratio_mean",
    "coverage_fraction",
    "density_per_um2",
    "nn_distance_mean",
    "clark_evans_r",
    "agglomerate_count",
    "voronoi_area_cv",
)


@dataclass
class DashboardState:
    """What the dashboard knows, folded from the published messages."""

    started_s: float = field(default_factory=time.monotonic)
    status: dict[str, object] = field(default_factory=dict)
    last_frame: dict[str, object] = field(default_factory=dict)
    diameters: np.ndarray = field(default_factory=lambda: np.zeros(0))
    diameter_unit: str = "px"
    counts: deque[int] = field(default_factory=lambda: deque(maxlen=60))
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    events: Counter = field(default_factory=Counter)
    frames_seen: int = 0
    series_ended: int = 0

    def update(self, topic: str, payload: Mapping[str, object]) -> None:
        """Fold one published message into the state."""
        if topic == "status":
            self.status = dict(payload)
        elif topic == "frame":
            self.last_frame = dict(payload)
            self.frames_seen += 1
            self.counts.append(int(payload.get("count", 0)))
            latency = payload.get("latency_s")
            if isinstance(latency, int | float):
                self.latencies_s.append(float(latency))
        elif topic == "particles":
            columns = payload.get("columns", {})
            if isinstance(columns, Mapping):
                for name, unit in (
                    ("diameter_equivalent_nm", "nm"),
                    ("diameter_equivalent_px", "px"),
                ):
                    if name in columns:
                        self.diameters = np.asarray(columns[name], dtype=float)
                        self.diameter_unit = unit
                        break
        elif topic == "events":
            if payload.get("seq") is None:
                self.series_ended += 1
            for event in payload.get("events", []) or []:
                self.events[str(event.get("kind"))] += 1


def sparkline(values: list[float] | deque, width: int = 40) -> str:
    """Return a one-line bar chart of the last ``width`` values (scaled to their max)."""
    vals = list(values)[-width:]
    if not vals:
        return ""
    top = max(vals) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int(round(v / top * (len(SPARK) - 1))))] for v in vals)


def histogram_line(values: np.ndarray, bins: int = 16) -> str:
    """Return a sparkline histogram of ``values`` with its range, or '' when empty."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ""
    counts, edges = np.histogram(finite, bins=bins)
    return f"{edges[0]:.3g} {sparkline(counts.tolist(), bins)} {edges[-1]:.3g}"


def fmt(value: object, unit: str = "", scale: float = 1.0) -> str:
    """Return a short number with its unit, '-' for missing values."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return "-"
    v = value * scale
    text = f"{v:.3g}" if isinstance(value, float) else str(v)
    return f"{text}{(' ' + unit) if unit else ''}"


def reasons(bag: object) -> str:
    """Return 'reason n, ...' for a mapping of counts, 'none' when empty."""
    if not isinstance(bag, Mapping) or not bag:
        return "none"
    return ", ".join(f"{k} {v}" for k, v in sorted(bag.items()))


def chosen_metrics(metrics: Mapping[str, object], limit: int = 12) -> list[tuple[str, object]]:
    """Return up to ``limit`` numeric metrics: the size, shape and dispersion summary first."""
    numeric = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    chosen: list[tuple[str, object]] = []
    for prefix in DASHBOARD_METRICS:
        matches = sorted((k for k in numeric if k.startswith(prefix)), key=lambda k: "_px" in k)
        if matches:
            chosen.append((matches[0], numeric[matches[0]]))
    if not chosen:
        chosen = list(numeric.items())
    return chosen[:limit]


def render(state: DashboardState, endpoint: str, width: int = 100) -> list[str]:
    """Return the dashboard as text lines (no ANSI codes)."""
    s, f = state.status, state.last_frame
    up = time.monotonic() - state.started_s
    lat = list(state.latencies_s)
    lines = [
        f"nanolive watch  {endpoint}  engine {s.get('engine', '?')}  up {up:.0f} s",
        "",
        f"fps in {fmt(s.get('fps_in'))}   fps out {fmt(s.get('fps_out'))}   "
        f"queue {s.get('queue_depth', '-')}/{s.get('queue_size', '-')} ({s.get('policy', '-')})   "
        f"batch {fmt(s.get('batch_size_mean'))}",
        f"latency  last {fmt(lat[-1] if lat else None, 'ms', 1e3)}   "
        f"p50 {fmt(float(np.median(lat)) if lat else None, 'ms', 1e3)}   "
        f"max {fmt(max(lat) if lat else None, 'ms', 1e3)}",
        f"frames   received {s.get('received', '-')}   processed {s.get('processed', '-')}   "
        f"dropped {s.get('dropped_total', '-')} ({reasons(s.get('dropped'))})   "
        f"in flight {s.get('in_flight', '-')}",
        f"bad messages: {reasons(s.get('bad_messages'))}   missing (seq gaps): {s.get('missing', '-')}",
        "",
    ]
    if f:
        lines.append(
            f"series {f.get('series')}  seq {f.get('seq')}  particles {f.get('count')}  "
            f"tracked {f.get('tracked_count', '-')}  active tracks {f.get('active_tracks')}"
        )
        lines.append(f"particles/frame  {sparkline(state.counts, 60)}")
        hist = histogram_line(state.diameters)
        if hist:
            lines.append(f"diameter ({state.diameter_unit})  {hist}")
        metrics = f.get("metrics") or {}
        if isinstance(metrics, Mapping):
            pairs = chosen_metrics(metrics)
            for i in range(0, len(pairs), 2):
                lines.append(
                    "  " + "   ".join(f"{k} {fmt(v)}".ljust(44) for k, v in pairs[i : i + 2])
                )
    else:
        lines.append("waiting for results ...")
    lines.append("")
    lines.append(
        f"events: {reasons(dict(state.events))}   series ended: {state.series_ended}   "
        f"results seen: {state.frames_seen}"
    )
    return [line[:width] for line in lines]


def subscribe(context: zmq.Context, endpoint: str) -> zmq.Socket:
    """Return a SUB socket connected to ``endpoint`` and subscribed to every topic."""
    sock = context.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    return sock


def watch(
    endpoint: str,
    seconds: float = 0.0,
    out: TextIO | None = None,
    redraw_s: float = 0.25,
    plain: bool | None = None,
    stop: object | None = None,
) -> DashboardState:
    """Show the dashboard for ``seconds`` (0 = until Ctrl-C or ``stop.is_set()``); return the state.

    ``plain`` (default: when ``out`` is not a terminal) prints one summary line per second instead of
    redrawing the screen.
    """
    stream = out or sys.stdout
    if plain is None:
        plain = not stream.isatty()
    state = DashboardState()
    context = zmq.Context()
    sock = subscribe(context, endpoint)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    end = time.monotonic() + seconds if seconds > 0 else math.inf
    next_draw = time.monotonic()
    interval = 1.0 if plain else redraw_s
    try:
        while time.monotonic() < end and not (stop is not None and stop.is_set()):
            if poller.poll(50):
                while True:
                    try:
                        topic, payload = sock.recv_multipart(flags=zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    except ValueError:
                        continue
                    state.update(topic.decode(errors="replace"), msgpack.unpackb(payload))
            now = time.monotonic()
            if now >= next_draw:
                draw(stream, state, endpoint, plain)
                next_draw = now + interval
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        context.term()
    return state


def draw(stream: TextIO, state: DashboardState, endpoint: str, plain: bool) -> None:
    """Write the dashboard (full redraw) or, when ``plain``, one summary line."""
    lines = render(state, endpoint)
    if plain:
        s = state.status
        stream.write(
            f"[watch] fps in {fmt(s.get('fps_in'))} out {fmt(s.get('fps_out'))} "
            f"received {s.get('received', '-')} processed {s.get('processed', '-')} "
            f"dropped {s.get('dropped_total', '-')} particles {state.last_frame.get('count', '-')}\n"
        )
    else:
        stream.write(CLEAR + "\n".join(lines) + "\n")
    stream.flush()
