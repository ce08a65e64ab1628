"""`nanolive serve` with a no-op engine: the live pipeline's own overhead, measured the same way.

Run: ``python -m nanolive.bench.noop_serve [every `nanolive serve` option]``. The engine returns empty
label images at once, so every other stage (receive, decode, queue, batch, measure, track, publish,
record) runs as in the real pipeline; the benchmark drives it exactly like ``nanolive serve`` (same
options, same start-up line on stdout, stops on SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

import numpy as np


class NoopEngine:
    """An engine that finds nothing: int32 zeros (B, H, W) for any float32 batch (B, H, W)."""

    name = "noop"

    def segment(self, batch: np.ndarray) -> np.ndarray:
        """Return all-background labels of the batch's shape."""
        arr = np.asarray(batch)
        if arr.ndim != 3:
            raise ValueError(f"expected a (B, H, W) batch, got shape {arr.shape}")
        return np.zeros(arr.shape, dtype=np.int32)


def build_parser() -> argparse.ArgumentParser:
    """Return a parser with exactly the options of `nanolive serve`."""
    from nanolive.stream.commands import add_serve

    parser = argparse.ArgumentParser(prog="python -m nanolive.bench.noop_serve")
    add_serve(parser.add_subparsers(dest="command"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve with the no-op engine until SIGINT/SIGTERM or --seconds; return the exit code."""
    from nanolive.stream.commands import build_config, fail, serve_flags
    from nanolive.stream.server import Server

    args = build_parser().parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    try:
        config = build_config(args, serve_flags(args))
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    stop = threading.Event()
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda _signum, _frame: stop.set())
    server = Server(config, engine=NoopEngine())
    try:
        ep = server.start()
        print(
            f"nanolive serve: frames in {ep.ingest}  results out {ep.publish}  "
            f"metrics {ep.metrics_url}  session {ep.session_folder}  engine {server.engine.name}",
            flush=True,
        )
        stop.wait(args.seconds if args.seconds > 0 else None)
    finally:
        accounting = server.stop()
    print(f"nanolive serve: stopped; {accounting.as_dict()}", flush=True)
    return 0 if accounting.in_flight == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
