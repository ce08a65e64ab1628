"""The pipeline's sub-commands: serve, acquire, watch, analyze, demo.

Only argparse is imported at registration; each command imports its machinery when it runs, so
``nanolive --help`` stays fast. Configuration = defaults < TOML file (``--config``) < ``--set
section.key=value`` < the dedicated flags (``--engine``, ``--listen``, ...).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the serve, acquire, watch, analyze and demo sub-commands."""
    add_serve(subparsers)
    add_acquire(subparsers)
    add_watch(subparsers)
    add_analyze(subparsers)
    add_demo(subparsers)


# -- shared options ---------------------------------------------------------------------------


def add_config_options(p: argparse.ArgumentParser) -> None:
    """Add --config, --set and --engine."""
    p.add_argument("--config", metavar="TOML", help="configuration file (see deploy/nanolive.toml)")
    p.add_argument(
        "--set",
        metavar="SECTION.KEY=VALUE",
        action="append",
        default=[],
        help="override one config value (TOML syntax), e.g. --set ingest.queue_size=128",
    )
    p.add_argument(
        "--engine",
        metavar="NAME",
        help="segmentation engine: classical, onnx, torch, tensorrt (default: engine.name)",
    )


def build_config(args: argparse.Namespace, flags: dict[str, dict[str, Any]] | None = None) -> Any:
    """Return the Config from --config, --set and the given flag values (None = not given)."""
    from .config import load_config, parse_override, with_overrides

    config = load_config(args.config)
    overrides: dict[str, dict[str, Any]] = {}
    for text in args.set:
        section, key, value = parse_override(text)
        overrides.setdefault(section, {})[key] = value
    all_flags = dict(flags or {})
    all_flags.setdefault("engine", {})["name"] = args.engine
    for section, values in all_flags.items():
        for key, value in values.items():
            if value is not None:
                overrides.setdefault(section, {})[key] = value
    return with_overrides(config, overrides)


def fail(message: str) -> int:
    """Print a user error on stderr and return exit code 2."""
    print(f"nanolive: error: {message}", file=sys.stderr, flush=True)
    return 2


# -- serve ------------------------------------------------------------------------------------


def add_serve(subparsers: argparse._SubParsersAction) -> None:
    """Register `nanolive serve`."""
    p = subparsers.add_parser(
        "serve",
        help="run the live pipeline (ZeroMQ frames in, results out, /metrics, recording)",
        description="Run the live pipeline until Ctrl-C (or --seconds): frames arrive on a PULL "
        "socket (protocol v1, docs/protocol.md), results leave on a PUB socket, Prometheus "
        "metrics are served over HTTP, and every result is recorded in a session folder.",
    )
    add_config_options(p)
    p.add_argument("--listen", metavar="ENDPOINT", help="frame endpoint (default tcp://*:5555)")
    p.add_argument(
        "--connect",
        action="store_true",
        help="connect the frame socket to a sender that binds, instead of binding",
    )
    p.add_argument("--publish", metavar="ENDPOINT", help="result endpoint (default tcp://*:5556)")
    p.add_argument("--metrics-port", type=int, help="Prometheus HTTP port (default 8000)")
    p.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")
    p.add_argument("--policy", choices=("block", "drop_oldest"), help="when the queue is full")
    p.add_argument("--queue-size", type=int, help="frames held between socket and engine")
    p.add_argument("--max-batch", type=int, help="largest engine batch (frames)")
    p.add_argument("--max-wait-ms", type=float, help="longest wait to fill a batch (ms)")
    p.add_argument("--record-dir", metavar="DIR", help="parent folder of the session folders")
    p.add_argument("--no-record", action="store_true", help="do not record results to disk")
    p.add_argument("--save-labels", action="store_true", help="record label images too")
    p.add_argument("--save-raw", action="store_true", help="record the raw frames too")
    p.add_argument(
        "--seconds",
        type=float,
        default=0.0,
        help="stop after this many seconds (0 = run until Ctrl-C)",
    )
    p.set_defaults(func=serve_command)


def serve_flags(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Return the config overrides of the serve flags."""
    return {
        "ingest": {
            "endpoint": args.listen,
            "bind": False if args.connect else None,
            "policy": args.policy,
            "queue_size": args.queue_size,
        },
        "batching": {"max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms},
        "publish": {"endpoint": args.publish},
        "metrics": {"port": args.metrics_port, "enabled": False if args.no_metrics else None},
        "record": {
            "folder": args.record_dir,
            "enabled": False if args.no_record else None,
            "save_labels": True if args.save_labels else None,
            "save_raw": True if args.save_raw else None,
        },
    }


def serve_command(args: argparse.Namespace) -> int:
    """Run the pipeline until interrupted; return 0 after a clean drain."""
    import signal
    import threading

    from .server import Server

    try:
        config = build_config(args, serve_flags(args))
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    server = Server(config)
    try:
        endpoints = server.start()
    except Exception as exc:  # a busy port, a missing model file, ...: say which, exit 2
        return fail(f"could not start the pipeline: {type(exc).__name__}: {exc}")
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(
            f"nanolive serve: frames in {endpoints.ingest}  results out {endpoints.publish}  "
            f"metrics {endpoints.metrics_url}  session {endpoints.session_folder}  "
            f"engine {server.engine.name}",
            flush=True,
        )
        stop.wait(args.seconds if args.seconds > 0 else None)
    finally:
        accounting = server.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    print(f"nanolive serve: stopped; {accounting.as_dict()}", flush=True)
    return 0 if accounting.in_flight == 0 else 1


# -- acquire ----------------------------------------------------------------------------------


def add_acquire(subparsers: argparse._SubParsersAction) -> None:
    """Register `nanolive acquire`."""
    p = subparsers.add_parser(
        "acquire",
        help="stream simulated frames or a file to the pipeline at a given fps",
        description="The acquisition side: send frames over protocol v1 (PUSH) to a pipeline. "
        "Without --file the simulator makes the frames.",
    )
    p.add_argument("--endpoint", default="tcp://127.0.0.1:5555", help="pipeline frame endpoint")
    p.add_argument("--bind", action="store_true", help="bind instead of connecting")
    p.add_argument(
        "--fps", type=float, default=10.0, help="frames per second (0 = as fast as accepted)"
    )
    p.add_argument(
        "--file",
        metavar="PATH",
        help="send this file's frames (TIFF, NPY, DM3/DM4, MP4, ...) or a folder of images",
    )
    p.add_argument("--repeat", type=int, default=1, help="send the file this many times")
    p.add_argument("--frames", type=int, default=100, help="simulated frames to send")
    p.add_argument("--shape", type=int, nargs=2, default=(256, 256), metavar=("ROWS", "COLS"))
    p.add_argument("--seed", type=int, default=0, help="simulator seed")
    p.add_argument(
        "--sparse-fraction", type=float, default=1.0, help="simulate a sparse scan (sends masks)"
    )
    p.add_argument("--series", help="series name (default: sim-<time> or the file name)")
    p.add_argument("--pixel-size-nm", type=float, help="override the pixel size (nm)")
    p.add_argument("--frame-interval-s", type=float, help="override the frame interval (s)")
    p.add_argument("--send-timeout-s", type=float, default=30.0, help="give up after this long")
    p.set_defaults(func=acquire_command)


def acquire_command(args: argparse.Namespace) -> int:
    """Send the frames; return 0 when all were sent."""
    import time

    from .acquire import FrameSender, SendTimeout, file_frames, simulated_frames, stream_frames
    from .files import read_image_file

    interval = args.frame_interval_s or (1.0 / args.fps if args.fps > 0 else None)
    try:
        if args.file:
            source = read_image_file(args.file)
            frames = file_frames(source.frames, args.repeat)
            pixel = args.pixel_size_nm or source.pixel_size_nm
            interval = args.frame_interval_s or source.frame_interval_s or interval
            series = args.series or source.name
        else:
            frames, pixel = simulated_frames(
                args.frames, args.seed, tuple(args.shape), interval or 0.1, args.sparse_fraction
            )
            pixel = args.pixel_size_nm or pixel
            series = args.series or time.strftime("sim-%Y%m%d-%H%M%S")
    except ValueError as exc:
        return fail(str(exc))
    try:
        with FrameSender(args.endpoint, args.bind, send_timeout_s=args.send_timeout_s) as sender:
            report = stream_frames(sender, frames, series, args.fps, pixel, interval)
    except (SendTimeout, KeyboardInterrupt, ValueError) as exc:  # ValueError: a bad file
        return fail(f"sending stopped: {exc or 'interrupted'}")
    print(
        f"nanolive acquire: sent {report.sent} frames of series {series!r} to {args.endpoint} "
        f"in {report.elapsed_s:.1f} s ({report.fps:.1f} fps)"
    )
    return 0


# -- watch ------------------------------------------------------------------------------------


def add_watch(subparsers: argparse._SubParsersAction) -> None:
    """Register `nanolive watch`."""
    p = subparsers.add_parser(
        "watch",
        help="live terminal dashboard of a running pipeline",
        description="Subscribe to the pipeline's results and show fps, latency, drops, counts, "
        "size distribution and dispersion, updated live.",
    )
    p.add_argument("--endpoint", default="tcp://127.0.0.1:5556", help="pipeline result endpoint")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after N s (0 = until Ctrl-C)")
    p.add_argument("--plain", action="store_true", help="one line per second, no screen redraw")
    p.set_defaults(func=watch_command)


def watch_command(args: argparse.Namespace) -> int:
    """Show the dashboard."""
    from .watch import watch

    watch(args.endpoint, args.seconds, plain=True if args.plain else None)
    return 0


# -- analyze ----------------------------------------------------------------------------------


def add_analyze(subparsers: argparse._SubParsersAction) -> None:
    """Register `nanolive analyze`."""
    p = subparsers.add_parser(
        "analyze",
        help="run the pipeline on image files and write particles/frames/events tables",
        description="Analyse images and stacks (PNG/JPEG/GIF, TIFF, multi-page TIFF, NPY, "
        "DM3/DM4, EMD, HSPY, MRC), videos (MP4/AVI/MOV/MKV/WEBM) and image sequences (a folder of "
        "images, or --sequence) with the live pipeline's per-frame core; a stack, video or "
        "sequence is tracked as one series. Writes DIR/particles.csv, DIR/frames.csv, "
        "DIR/events.csv, DIR/summary.json (and DIR/labels/<stem>.tif with --save-labels).",
    )
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="image, stack or video files, or folders"
    )
    p.add_argument(
        "--sequence",
        action="store_true",
        help="the inputs are the frames of one video (natural order of their names)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--pixel-size-nm", type=float, help="pixel size (nm); overrides the files")
    p.add_argument("--frame-interval-s", type=float, help="frame interval (s); overrides the files")
    p.add_argument("--save-labels", action="store_true", help="write labels/<input stem>.tif")
    p.add_argument(
        "--max-batch", type=int, help="frames per engine call (default batching.max_batch)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_config_options(p)
    p.set_defaults(func=analyze_command)


def analyze_command(args: argparse.Namespace) -> int:
    """Analyse the inputs; return 0 when every frame was analysed, 1 when some failed."""
    from nanolive.engines.registry import create_engine

    from .analyze import AnalyzeOptions, analyze_paths
    from .files import check_input_path

    try:
        config = build_config(args, {"batching": {"max_batch": args.max_batch}})
        options = AnalyzeOptions(
            pixel_size_nm=args.pixel_size_nm,
            frame_interval_s=args.frame_interval_s,
            save_labels=args.save_labels,
            max_batch=config.batching.max_batch,
            progress=False if args.no_progress else None,
            sequence=args.sequence,
        )
        for path in args.inputs:  # fail on a bad path before loading an engine
            check_input_path(path)
        engine = create_engine(config.engine)
        summary = analyze_paths(
            args.inputs, args.out, engine, config.tracker, options, config.integration
        )
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    failed = sum(summary.failures.values())
    print(
        f"nanolive analyze: {summary.sources} source(s), {summary.frames} frame(s), "
        f"{summary.particles} particle(s) -> {args.out}"
        + (f"; {failed} frame(s) failed: {summary.failures}" if failed else "")
    )
    return 1 if failed else 0


# -- demo -------------------------------------------------------------------------------------


def add_demo(subparsers: argparse._SubParsersAction) -> None:
    """Register `nanolive demo`."""
    p = subparsers.add_parser(
        "demo",
        help="simulated acquisition -> pipeline -> live dashboard, in one command",
        description="Start the pipeline, stream a simulated in-situ video to it and show the live "
        "dashboard; serves /metrics; prints the endpoints and, at the end, the frame accounting "
        "(exit 0 when every frame sent was processed or dropped with a reason).",
    )
    p.add_argument("--seconds", type=float, default=30.0, help="how long to stream (s)")
    p.add_argument("--fps", type=float, default=10.0, help="simulated frames per second")
    p.add_argument("--shape", type=int, nargs=2, default=(256, 256), metavar=("ROWS", "COLS"))
    p.add_argument("--seed", type=int, default=0, help="simulator seed")
    p.add_argument("--plain", action="store_true", help="one line per second, no screen redraw")
    add_config_options(p)
    p.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Run the demo; return 0 when every frame is accounted for."""
    import sys

    from .demo import DemoOptions, demo_main

    try:
        config = build_config(args)
        options = DemoOptions(
            seconds=args.seconds,
            fps=args.fps,
            shape=tuple(args.shape),
            seed=args.seed,
            plain=True if args.plain else None,
        )
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    try:
        return demo_main(config, options, sys.stdout)
    except (RuntimeError, ValueError, ImportError) as exc:  # engine missing, sender failed, ...
        return fail(f"{type(exc).__name__}: {exc}")
