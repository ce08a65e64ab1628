"""`nanolive bench`: run the benchmark, write results.json, PNG figures and the markdown summary.

Outputs in ``--out`` (default build/bench): results.json, benchmarks.md, figures/bench_*.png. The full
run (no ``--quick``) also writes the summary to docs/benchmarks.md and its figures to docs/figures/
(``--docs DIR`` chooses another folder, ``--docs ''`` none).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import shutil
import sys
from dataclasses import replace
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `bench` sub-command."""
    p = subparsers.add_parser(
        "bench",
        help="benchmark latency, throughput, scaling and accuracy side by side",
        description="Live load over loopback ZeroMQ into a real `nanolive serve`, sweeps of frame "
        "size, fps, batching and engine, scaling curves, and trackpy / ParticleSpy-style baselines "
        "on the same simulated frames. The default run takes up to ~10 minutes on 2 cores; --quick "
        "about a minute.",
    )
    p.add_argument("--quick", action="store_true", help="the ~1 minute run (fewer, shorter points)")
    p.add_argument("--out", default="build/bench", metavar="DIR", help="output folder")
    p.add_argument(
        "--docs",
        metavar="DIR",
        help="also write DIR/benchmarks.md and DIR/figures/ (default: docs for the full run, "
        "none with --quick; '' = none)",
    )
    p.add_argument("--no-live", action="store_true", help="skip the live-load part")
    p.add_argument("--engines", nargs="+", metavar="NAME", help="engine backends to measure")
    p.add_argument("--seed", type=int, help="simulator seed (default 0)")
    p.set_defaults(func=bench_command)


def jsonable(value: object) -> object:
    """Return ``value`` with NaN/inf replaced by None and tuples by lists (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def command_line(args: argparse.Namespace) -> str:
    """Return the command as typed (for the summary)."""
    argv = sys.argv[1:] if sys.argv and sys.argv[0].endswith("nanolive") else []
    return (
        "nanolive " + shlex.join(argv)
        if argv
        else "nanolive bench" + (" --quick" if args.quick else "")
    )


def bench_command(args: argparse.Namespace) -> int:
    """Run the benchmark and write its outputs; return 0 on success, 2 on bad options."""
    from .config import BenchConfig
    from .plots import write_figures
    from .report import markdown
    from .runner import run_bench

    config = BenchConfig.quick() if args.quick else BenchConfig.default()
    try:
        if args.no_live:
            config = replace(config, live=False)
        if args.engines:
            config = replace(config, engines=tuple(args.engines))
        if args.seed is not None:
            config = replace(config, seed=args.seed)
    except ValueError as exc:
        print(f"nanolive: error: {exc}")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def progress(message: str) -> None:
        print(f"nanolive bench: {message}", flush=True)

    results = run_bench(config, progress)
    (out / "results.json").write_text(json.dumps(jsonable(results), indent=1))
    figures = write_figures(results, out / "figures")
    rel = [f"figures/{f.name}" for f in figures]
    command = command_line(args)
    page = markdown(results, command, rel)
    (out / "benchmarks.md").write_text(page)
    docs = args.docs if args.docs is not None else ("" if args.quick else "docs")
    if docs:
        folder = Path(docs)
        (folder / "figures").mkdir(parents=True, exist_ok=True)
        for f in figures:
            shutil.copyfile(f, folder / "figures" / f.name)
        (folder / "benchmarks.md").write_text(page)
    for key, verdict in results["targets"].items():
        print(f"nanolive bench: target {key}: {verdict['status']} - {verdict['detail']}")
    print(
        f"nanolive bench: wrote {out / 'results.json'}, {out / 'benchmarks.md'}"
        + (f" and {Path(docs) / 'benchmarks.md'}" if docs else "")
    )
    return 0
