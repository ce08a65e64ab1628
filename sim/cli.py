"""`nanolive simulate`: write a synthetic dataset (TIFF stacks + CSV truth) to a folder."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``simulate`` sub-command."""
    p = subparsers.add_parser(
        "simulate",
        help="write synthetic (S)TEM frames with exact ground truth",
        description=(
            "Simulate a video of supported nanoparticles and write frames.tif, labels.tif, "
            "particles.csv, events.csv (and masks.tif for sparse scans) to --out. Every other "
            "setting has a default; any SimConfig field can be set with --set NAME=VALUE."
        ),
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--frames", type=int, default=20, help="number of frames (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", type=int, nargs=2, metavar=("ROWS", "COLS"), help="frame shape (px)")
    p.add_argument("--mode", choices=["haadf", "bf"], help="contrast mode")
    p.add_argument("--dose", type=float, help="dose (electrons per pixel)")
    p.add_argument("--particles", type=float, help="expected particles in view")
    p.add_argument(
        "--arrangement", choices=["random", "clustered", "agglomerated", "ring", "chain"]
    )
    p.add_argument("--pixel-size-nm", type=float, help="pixel size (nm)")
    p.add_argument("--sparse-fraction", type=float, help="sampled fraction (0 < f <= 1)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any SimConfig field (value parsed as a Python literal), repeatable",
    )
    p.set_defaults(func=run_simulate)


def config_from_args(args: argparse.Namespace) -> Any:
    """Return the SimConfig described by the command-line arguments (ValueError when invalid)."""
    import ast

    from .config import SimConfig

    changes: dict[str, Any] = {}
    direct = {
        "size": "shape",
        "mode": "mode",
        "dose": "dose_e_per_px",
        "particles": "n_particles",
        "arrangement": "arrangement",
        "pixel_size_nm": "pixel_size_nm",
        "sparse_fraction": "sparse_fraction",
    }
    for arg, field in direct.items():
        value = getattr(args, arg)
        if value is not None:
            changes[field] = tuple(value) if isinstance(value, list) else value
    known = {f.name for f in dataclasses.fields(SimConfig)}
    for item in args.set:
        name, sep, text = item.partition("=")
        if not sep or name not in known:
            raise ValueError(
                f"--set {item!r}: expected NAME=VALUE with NAME one of {sorted(known)}"
            )
        try:
            changes[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            changes[name] = text
    return SimConfig(**changes)


def run_simulate(args: argparse.Namespace) -> int:
    """Simulate and write the dataset; return 0, or 2 on a bad setting."""
    from .dataset import write_dataset
    from .simulate import simulate_video

    try:
        config = config_from_args(args)
        if args.frames < 1:
            raise ValueError(f"--frames must be >= 1, not {args.frames}")
    except ValueError as exc:
        print(f"nanolive simulate: {exc}", file=sys.stderr)
        return 2
    summary = write_dataset(
        simulate_video(config, args.frames, args.seed), args.out, config, args.seed
    )
    print(
        f"wrote {summary.n_frames} frames, {summary.n_particle_rows} particle rows, "
        f"events {summary.n_events} to {summary.out_dir}"
    )
    return 0
