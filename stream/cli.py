"""The `nanolive` command line: one sub-command per job, each registered by the package that owns it.

Every package that contributes commands exposes ``register(subparsers)`` in the module named below;
that function adds its parsers and sets ``func`` (called with the parsed namespace, returns an exit code).
Heavy imports (torch, onnxruntime) happen inside the command functions, never at registration.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "nanolive.stream.commands",  # serve, acquire, watch, analyze, demo
    "nanolive.sim.cli",  # simulate
    "nanolive.engines.cli",  # train, evaluate, export
    "nanolive.trackers.cli",  # track-eval
    "nanolive.bench.cli",  # bench
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="nanolive",
        description="Live nanoparticle analysis for in-situ (S)TEM.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `nanolive` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose > 1
        else logging.INFO
        if args.verbose
        else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
