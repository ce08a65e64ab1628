"""Commands of the engines package: ``nanolive train``, ``nanolive evaluate``, ``nanolive export``.

Heavy imports (torch, onnxruntime) happen inside the command functions.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .base import EngineConfig

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the train, evaluate and export sub-commands."""
    p = subparsers.add_parser("train", help="train the segmentation U-Net (CPU)")
    p.add_argument("--out", type=Path, default=Path("runs/unet"), help="output folder")
    p.add_argument("--stem", default="unet", help="file stem of the checkpoint (<stem>.pt/.json)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--patch", type=int, default=192, help="patch side (px)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--real-fraction", type=float, default=0.25, help="share of real patches")
    p.add_argument("--insitu-share", type=float, default=0.4, help="in-situ share of real patches")
    p.add_argument("--sim-frames", type=int, default=800, help="simulated training frames")
    p.add_argument(
        "--sim-seed",
        type=int,
        nargs="+",
        default=[0],
        help="one set of --sim-frames frames per seed (each cached on its own)",
    )
    p.add_argument(
        "--sim-cache", type=Path, nargs="+", default=None, help="use these cached .npz of frames"
    )
    p.add_argument(
        "--sim-grain-share",
        type=float,
        default=0.0,
        help="share of simulated frames with small particles on thick support grains (0-1)",
    )
    p.add_argument(
        "--sim-default-share",
        type=float,
        default=0.3,
        help="share of simulated frames drawn with the simulator's calibrated defaults (random "
        "contrast, arrangement and dose; the rest is the wide draw; 0-1, default 0.3)",
    )
    p.add_argument("--cache-dir", type=Path, default=Path("/tmp/nanolive-cache"))
    p.add_argument("--data-root", type=Path, default=None, help="shared/data/authentic folder")
    p.add_argument("--base-channels", type=int, default=8)
    p.add_argument("--levels", type=int, default=4)
    p.add_argument("--stem-stride", type=int, default=2)
    p.add_argument("--separable", action="store_true", help="depthwise-separable convolutions")
    p.add_argument(
        "--subpixel", action="store_true", help="learned sub-pixel logit correction (ModelSpec)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: see TrainConfig)")
    p.add_argument(
        "--data-workers",
        type=int,
        choices=(0, 1),
        default=1,
        help="1: draw batches in a worker process (the second core); 0: in the training process",
    )
    p.add_argument(
        "--small-weight",
        type=float,
        default=0.0,
        help="extra loss weight on instances < 12 px across and a 2 px ring around them",
    )
    p.add_argument(
        "--small-weight-sim-only",
        dest="small_weight_real",
        action="store_false",
        help="apply --small-weight to simulated patches only",
    )
    p.add_argument("--checkpoint-every", type=int, default=250)
    p.add_argument("--init", type=Path, default=None, help="start from this .pt (fine-tune)")
    p.add_argument("--no-export", action="store_true", help="skip the ONNX export at the end")
    p.set_defaults(func=run_train)

    e = subparsers.add_parser("evaluate", help="score engines on the held-out sets")
    e.add_argument("--engine", nargs="+", default=["onnx", "classical"], help="engine names")
    e.add_argument("--weights", default="", help="model file for the neural engines")
    e.add_argument("--int8", action="store_true", help="onnx: the INT8 model")
    e.add_argument("--threads", type=int, default=2)
    e.add_argument(
        "--min-area-px",
        type=int,
        default=EngineConfig.min_area_px,
        help="drop smaller instances (px)",
    )
    e.add_argument(
        "--no-auto-scale",
        dest="auto_scale",
        action="store_false",
        help="never re-segment frames of large particles downscaled (EngineConfig.auto_scale)",
    )
    e.add_argument(
        "--no-coarse-rescue",
        dest="coarse_rescue",
        action="store_false",
        help="never replace an unsure native pass by a downscaled one (EngineConfig.coarse_rescue)",
    )
    e.add_argument(
        "--split-cores",
        dest="split_cores",
        action="store_true",
        help="split touching small particles' weakly joined cores (EngineConfig.split_cores)",
    )
    e.add_argument(
        "--bin",
        type=int,
        default=1,
        dest="bin_factor",
        help="average frames over N x N pixel blocks before segmenting (EngineConfig.bin_factor)",
    )
    e.add_argument(
        "--min-relative-diameter",
        type=float,
        default=EngineConfig.min_relative_diameter,
        help="neural engines: drop instances narrower than this fraction of the frame's "
        "area-weighted median diameter (EngineConfig.min_relative_diameter; 0 = off)",
    )
    e.add_argument("--sets", nargs="+", default=None, help="evaluation sets (default: all)")
    e.add_argument("--sim-frames", type=int, default=8, help="simulated frames per dose")
    e.add_argument(
        "--sim-kinds",
        action="store_true",
        help="also score each kind of simulated frame (HAADF/BF x random/agglomerated) on its own",
    )
    e.add_argument("--data-root", type=Path, default=None)
    e.add_argument("--json", type=Path, default=None, help="write all metrics as JSON")
    e.set_defaults(func=run_evaluate)

    x = subparsers.add_parser("export", help="export a .pt checkpoint to ONNX (+ INT8)")
    x.add_argument("weights", type=Path, help="<stem>.pt with its <stem>.json")
    x.add_argument("--out", type=Path, default=None, help="ONNX path (default: <stem>.onnx)")
    x.add_argument("--opset", type=int, default=17)
    x.add_argument("--int8", action="store_true", help="also write <stem>.int8.onnx")
    x.add_argument("--calib-frames", type=int, default=16, help="simulated calibration frames")
    x.set_defaults(func=run_export)


def run_train(args: argparse.Namespace) -> int:
    """Build the data pools, train, checkpoint and (unless --no-export) export to ONNX."""
    from .augment import AugmentConfig
    from .data import (
        EMPS,
        INSITU,
        default_data_root,
        load_sim_cache,
        real_samples,
        simulated_training_set,
    )
    from .export import export_onnx
    from .model import ModelSpec
    from .train import Pools, TrainConfig, train

    spec = ModelSpec(
        args.base_channels, args.levels, args.stem_stride, args.separable, args.subpixel
    )
    cfg = TrainConfig(
        steps=args.steps,
        batch=args.batch,
        patch_px=args.patch,
        lr=args.lr,
        real_fraction=args.real_fraction,
        insitu_share=args.insitu_share,
        threads=args.threads,
        data_workers=args.data_workers,
        small_weight=args.small_weight,
        small_weight_real=args.small_weight_real,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        spec=spec,
        augment=AugmentConfig(),
    )
    root = args.data_root or default_data_root()
    if args.sim_cache is not None:
        sim = [s for path in args.sim_cache for s in load_sim_cache(path)]
    else:
        sim = [
            s
            for seed in args.sim_seed
            for s in simulated_training_set(
                args.sim_frames,
                seed,
                args.cache_dir,
                grain_share=args.sim_grain_share,
                default_share=args.sim_default_share,
            )
        ]
    real = args.real_fraction > 0
    insitu = real_samples(root, INSITU, "train") if real else []
    emps = real_samples(root, EMPS, "train") if real else []
    log.info("training on %d sim, %d in-situ, %d EMPS frames", len(sim), len(insitu), len(emps))
    model, losses = train(
        Pools.from_samples(sim, insitu, emps), cfg, args.out, args.stem, init=args.init
    )
    if not args.no_export:
        export_onnx(model, args.out / f"{args.stem}.onnx")
    print(
        json.dumps(
            {
                "steps": len(losses),
                "loss_first100": sum(losses[:100]) / min(100, len(losses)),
                "loss_last100": sum(losses[-100:]) / min(100, len(losses)),
                "out": str(args.out / args.stem),
            }
        )
    )
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export a checkpoint to ONNX; with --int8 also a calibrated static INT8 model."""
    from .export import export_onnx, quantize_int8
    from .onnx_engine import int8_path
    from .train import load_model

    out = args.out or args.weights.with_suffix(".onnx")
    export_onnx(load_model(args.weights), out, args.opset)
    print(f"wrote {out}")
    if args.int8:
        q = quantize_int8(out, int8_path(out), calibration_inputs(args.calib_frames))
        print(f"wrote {q}")
    return 0


def calibration_inputs(n_frames: int):
    """Yield normalised (1, 1, 512, 512) inputs of simulated frames (both contrasts, many doses)."""
    import numpy as np
    from nanolive.sim import simulate_image

    from .data import random_sim_config
    from .postprocess import normalise_batch

    rng = np.random.default_rng(12345)
    done = 0
    while done < n_frames:
        try:
            frame = simulate_image(random_sim_config(rng, (512, 512)), int(rng.integers(1 << 30)))
        except (ValueError, IndexError, RuntimeError):
            continue
        done += 1
        yield normalise_batch(frame.image[None])


def run_evaluate(args: argparse.Namespace) -> int:
    """Score each engine on each set; print a Markdown table (and write JSON with --json)."""
    from dataclasses import asdict

    from .data import default_data_root
    from .evaluate import (
        SET_NAMES,
        evaluate_samples,
        format_table,
        format_visibility_table,
        load_set,
        samples_by_kind,
    )
    from .registry import create_engine

    root = args.data_root or default_data_root()
    engines = {}
    for name in args.engine:
        weights = args.weights if name != "classical" else ""
        cfg = EngineConfig(
            name=name,
            weights=weights,
            threads=args.threads,
            int8=args.int8 and name == "onnx",
            min_area_px=args.min_area_px,
            auto_scale=args.auto_scale,
            coarse_rescue=args.coarse_rescue,
            split_cores=args.split_cores,
            bin_factor=args.bin_factor,
            min_relative_diameter=args.min_relative_diameter,
        )
        engines[name] = create_engine(cfg)
    results = []
    for set_name in args.sets or SET_NAMES:
        samples = load_set(set_name, root, args.sim_frames)
        groups = {set_name: samples}
        if args.sim_kinds and set_name.startswith("sim-"):
            groups |= samples_by_kind(set_name, samples)
        for name, engine in engines.items():
            for group, members in groups.items():
                results.append(evaluate_samples(engine, name, group, members))
                log.info("%s on %s: %s", name, group, results[-1].metrics)
    print(format_table(results))
    visibility = format_visibility_table(results)
    if visibility:
        print("\nDetectability (simulated sets; ideal SNR >= 5, nanolive.sim.detectability):\n")
        print(visibility)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    return 0
