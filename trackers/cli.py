"""`nanolive track-eval`: measure the tracker on simulated videos and write docs/tracking.md."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nanolive.engines.base import EngineConfig

log = logging.getLogger(__name__)

TRACKMATE_DIR = Path("/work/shared/data/tracking/laptrack/tests/data")
TRACKMATE_STEMS = (
    "without_gap_closing",
    "with_gap_closing",
    "with_splitting",
    "with_merging",
    "with_splitting_merging",
)


def register(subparsers: Any) -> None:
    """Add the ``track-eval`` sub-command."""
    from nanolive.engines.base import EngineConfig
    from nanolive.engines.registry import ENGINE_NAMES

    p = subparsers.add_parser(
        "track-eval",
        help="measure tracking accuracy (MOTA, IDF1, HOTA, merges) on simulated videos",
        description=(
            "Simulate videos (512x512, 150 particles, low dose, Brownian motion, drift, "
            "coalescence), track them on true detections and on the detections of a segmentation "
            "engine (the whole chain, at one or more doses), compare with the TrackMate reference links, time the tracker, and write a Markdown "
            "report."
        ),
    )
    p.add_argument(
        "--seeds", type=int, nargs="+", default=[11, 12, 13, 14, 15], help="seeds, tracker alone"
    )
    p.add_argument(
        "--chain-seeds", type=int, nargs="*", default=[11, 12, 13], help="seeds, whole chain"
    )
    p.add_argument("--frames", type=int, default=100, help="frames per video (default 100)")
    p.add_argument(
        "--dose", type=float, default=20.0, help="dose, tracker alone (e/px, default 20: low dose)"
    )
    p.add_argument(
        "--chain-dose",
        type=float,
        nargs="+",
        default=[20.0, 100.0, 300.0],
        help="dose(s) of the whole-chain videos (e/px, default 20 = low dose, 100 and 300)",
    )
    p.add_argument(
        "--chain-integrate",
        type=int,
        nargs="+",
        default=[1, 3],
        help="whole chain once per value: frames averaged (drift-aligned) before segmentation, "
        "as [integration] frames of the pipeline (default 1 = none, and 3)",
    )
    p.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        default=EngineConfig().name,
        help=f"segmentation engine of the whole chain (default {EngineConfig().name!r}, the "
        "project's default; 'classical' = the baseline)",
    )
    p.add_argument("--match-distance", type=float, default=5.0, help="match distance (px)")
    p.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    p.add_argument(
        "--no-real-video",
        action="store_true",
        help="skip the whole chain on the SAM-EM liquid-cell video (shared/data)",
    )
    p.add_argument("--output", type=Path, default=Path("docs/tracking.md"), help="report path")
    p.set_defaults(func=run_track_eval)


def trackmate_summary(directory: Path = TRACKMATE_DIR) -> list[str]:
    """Return Markdown lines comparing our links with TrackMate's on the reference spots."""
    from .trackmate import (
        compare_links,
        link_kinds,
        read_links,
        read_spots,
        track_spots,
        trackmate_like_config,
    )

    if not directory.is_dir():
        return [f"Reference folder {directory} not found; comparison skipped."]
    lines = [
        "Same spots in (TrackMate 6.0.1 SPARSE_LAP runs saved by yfukai/laptrack), links compared."
        " Missing links are classified in the reference graph.",
        "",
        "| run | reference links | ours | shared | missing (frame/gap/merge/split) | extra |",
        "|---|---|---|---|---|---|",
    ]
    for stem in TRACKMATE_STEMS:
        spots = read_spots(directory / f"trackmate_tracks_{stem}_spots.csv")
        ref = read_links(directory / f"trackmate_tracks_{stem}_edges.csv")
        config = trackmate_like_config()
        if stem == "without_gap_closing":
            config = dataclasses.replace(config, max_gap=0, merge_confirm_frames=0)
        ours, _ = track_spots(spots, config)
        cmp = compare_links(ref, ours)
        k = link_kinds(cmp.only_reference, spots, context=ref)
        lines.append(
            f"| {stem} | {len(ref)} | {len(ours)} | {len(cmp.common)} | "
            f"{k['frame']}/{k['gap']}/{k['merge']}/{k['split']} | {len(cmp.only_ours)} |"
        )
    lines += [
        "",
        "Frame-to-frame and gap-closing links agree everywhere. The missing links are the second"
        " branch of each TrackMate merge/split: TrackMate decides them from distance alone, we"
        " require volume conservation (area^1.5) and these spots carry no size (all radius 5 px).",
    ]
    return lines


SPEED_TARGETS_MS = {1000: 3.0, 5000: 20.0}  # issue 5: ms per frame on one core, by particle count

SPEED_NOTES = [
    "Where the time goes (1,000 particles, ~2.8 ms per frame; each stage timed with"
    " `time.perf_counter` over 60 frames, best of 3 runs, 2026-11-22): k-nearest gate query"
    " ~0.53 ms (scipy `cKDTree.query`; ~0.03 ms of it is a fixed cost per call), KD-tree build"
    " ~0.15 ms, thresholded assignment ~0.43 ms, merge/split candidates ~0.55 ms (of which three"
    " `query_ball_point` calls ~0.15 ms), drift mode ~0.16 ms, batched Kalman predict + update"
    " ~0.2 ms, the rest numpy per-call overhead of bookkeeping. `cProfile`: ~750 Python-level"
    " calls per frame, no Python loop over tracks (only over the few pending merges/splits),"
    " filterpy only builds F, H, Q, R once, no per-track objects.",
    "Overhead removed without changing results (track ids, confirmed flags, events, drift and"
    " summaries compared before/after on benchmark scenes of 100-3,000 particles and on simulated"
    " videos, with and without images: identical): the Kalman update runs over every row and"
    " restores the unmatched rows with `np.copyto` instead of a gather and a scatter of the"
    " stacked state and covariance arrays; gate candidates from one `flatnonzero` of the query"
    " result; the assignment selects its edges with one index array and `take` per step instead"
    " of boolean masks applied to three arrays; the two drift medians come from one"
    " `np.partition`; pending merges/splits look their tracks up in the per-frame id -> row table"
    " instead of scanning all track ids per lookup.",
]


def speed_summary() -> list[str]:
    """Return Markdown lines with the tracker speed benchmark (nanolive.bench.tracker_speed)."""
    import subprocess

    # a child process, so that pinning it to one core leaves this process alone
    out = subprocess.run(
        [sys.executable, "-m", "nanolive.bench.tracker_speed", "--frames", "60"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return speed_lines(json.loads(out))


def speed_verdict(results: list[dict[str, Any]]) -> str:
    """Return the Markdown line comparing the benchmark rows with SPEED_TARGETS_MS (best repeat and
    median of repeats, wall-clock ms per frame)."""
    by_n = {r["particles"]: r for r in results}
    parts, met = [], True
    for n, target in SPEED_TARGETS_MS.items():
        if n not in by_n:
            return "Issue 5 speed targets: not all particle counts were measured."
        r = by_n[n]
        met &= r["ms_per_frame_best"] <= target
        parts.append(
            f"{n:,}: {r['ms_per_frame_best']:.2f} ms best, {r['ms_per_frame_median']:.2f} ms"
            f" median (target {target:g} ms)"
        )
    verdict = "met" if met else "not met"
    return f"**Issue 5 speed target, one core: {verdict} in this run** ({'; '.join(parts)})."


def speed_lines(res: dict[str, Any]) -> list[str]:
    """Return Markdown lines for the JSON output of `nanolive.bench.tracker_speed`."""
    lines = [
        f"`python -m nanolive.bench.tracker_speed --frames {res['frames']}` (pins itself to one"
        " CPU core; the same numbers come from `taskset -c 1 .venv/bin/python -m"
        " nanolive.bench.tracker_speed`; synthetic detections at the density of 1,000 particles"
        " per 512x512 px, drift estimated from detections):",
        "",
        "| particles | wall ms/frame (median of repeats) | wall, best repeat | p90 | CPU ms/frame"
        " (median) | CPU, best repeat | CPU us per particle (best) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in res["results"]:
        lines.append(
            f"| {r['particles']} | {r['ms_per_frame_median']:.2f} | {r['ms_per_frame_best']:.2f} | "
            f"{r['ms_per_frame_p90']:.2f} | {r['cpu_ms_per_frame_median']:.2f} | "
            f"{r['cpu_ms_per_frame_best']:.2f} | {r['us_per_particle_best']:.2f} |"
        )
    loads = ", ".join(f"{v:.1f}" for v in res["load_average_1min"])
    lines += ["", f"Load average of the machine after each repeat: {loads} (2 cores)."]
    lines += ["", speed_verdict(res["results"])]
    ref = res["reference_1000"]
    lines += [
        "",
        f"Least-squares fit over the counts: CPU time (best repeat) grows as"
        f" n^{res['scaling_exponent_cpu']:.2f}"
        f" (wall: n^{res['scaling_exponent_wall']:.2f}); a fixed per-frame cost dominates at 100"
        " particles. Same run, 1,000"
        f" tracks: one filterpy KalmanFilter per track in a Python loop {ref['filterpy_loop_ms']:.1f} ms"
        f" vs the batched filter {ref['batched_kalman_ms']:.2f} ms ({ref['kalman_speedup']:.0f}x);"
        f" a dense padded LAP on the full 1,000 x 1,000 distance matrix {ref['dense_lap_ms']:.0f} ms.",
        "",
        *(line for note in SPEED_NOTES for line in (note, "")),
        "Timings come from a shared 2-core machine: the wall-clock time includes waiting for the CPU,"
        " the CPU time of the tracking thread does not (but still slows down when the other core"
        " is busy, ~25-50 % here); compare ratios within one run.",
    ]
    return lines


#: The whole chain on the SAM-EM video under the defaults and under settings for its scale.
REAL_VIDEO_SETTINGS: tuple[tuple[str, dict[str, object], dict[str, object]], ...] = (
    ("defaults", {}, {}),
    (
        "set for its scale",
        {"bin_factor": 4},
        {"max_distance_px": 80.0, "diffusion_sigma_px": 20.0},
    ),
)


def real_video_summary(engine_name: str) -> list[str]:
    """Return Markdown lines: the whole chain (engine ``engine_name``) on the SAM-EM liquid-cell
    video with its true masks, under the defaults and under settings for the video's scale; empty
    when the data is not on this machine."""
    from nanolive.engines.base import EngineConfig
    from nanolive.engines.data import default_data_root, load_lptem_video
    from nanolive.engines.registry import create_engine

    from .config import TrackerConfig
    from .realvideo import MATCH_FRACTION, masked_video_table, score_masked_video

    try:
        samples = load_lptem_video(default_data_root())
    except (FileNotFoundError, ValueError) as exc:
        log.warning("real video skipped: %s", exc)
        return []
    images = [s.image for s in samples]
    labels = [s.labels for s in samples]
    rows = []
    for name, engine_set, tracker_set in REAL_VIDEO_SETTINGS:
        engine = create_engine(EngineConfig(name=engine_name, **engine_set))  # type: ignore[arg-type]
        config = TrackerConfig(**tracker_set)  # type: ignore[arg-type]
        rows.append(score_masked_video("SAM-EM", name, images, labels, engine, config))
    sets = "; ".join(
        f"{name}: " + " ".join(flags)
        for name, engine_set, tracker_set in REAL_VIDEO_SETTINGS
        if (
            flags := [f"`--set engine.{k}={v}`" for k, v in engine_set.items()]
            + [f"`--set tracker.{k}={v}`" for k, v in tracker_set.items()]
        )
    )
    return [
        "The SAM-EM liquid-cell TEM example (shared/data/tracking/SAM-EM, evaluation only, never"
        " trained on): 50 frames of 1024 x 1024 px, one particle ~68 px across in heavy noise,"
        " moving ~26 px per frame, with a true mask per frame. The whole chain (the"
        f" `{engine_name}` engine, `particle_table`, the tracker, as `nanolive analyze` runs a folder"
        " of frames) is scored against the true centroids; a match lies within"
        f" {MATCH_FRACTION} x the particle's equivalent diameter"
        f" ({rows[0].match_distance_px:.1f} px). The defaults are tuned for ~10 px simulated"
        " particles stepping ~1.5 px per frame; the second row sets the scale for this video"
        f" ({sets}): a 4x4 binning brings the particle to the network's trained size, and the"
        " gates allow its steps. These two values were read off the video (particle size and"
        " step), as a user would set them; nothing else was tuned on it.",
        "",
        *masked_video_table(rows),
    ]


def chain_summary(
    engine_config: EngineConfig,
    doses: list[float],
    seeds: list[int],
    integrate: Sequence[int] = (1,),
) -> list[str]:
    """Return Markdown lines describing the whole chain: engine, how it is built, doses (e/px),
    and the temporal integrations scored (frames averaged before segmentation)."""
    from nanolive.engines.base import EngineConfig

    if not seeds:
        return []
    integrated = any(k > 1 for k in integrate)
    integration = (
        [
            "",
            "Tables marked 'N-frame integration' (`--chain-integrate`) segment the drift-aligned"
            " mean of the last N frames, as the pipeline does with `[integration] frames = N`"
            " (`nanolive.stream.integrate`): N times the dose per segmented image, so more"
            " particles are found at low dose (the Rose-visible share below is per single frame"
            " and no longer bounds them). The positions are then those of the mean image, so a"
            " particle that moves lags by about (N - 1) / 2 frames of its motion, and HOTA, which"
            " scores localisation, falls. Where one frame already shows the particles (300 e/px"
            " here) integration gains nothing.",
        ]
        if integrated
        else []
    )
    is_default = engine_config.name == EngineConfig().name
    default = " (the project's default engine)" if is_default else ""
    return [
        f"Whole chain: the `{engine_config.name}` engine{default}, built by"
        f" `nanolive.engines.registry.create_engine({engine_config!r})` as in the pipeline, then"
        " `particle_table` and the tracker, on videos simulated at "
        + ", ".join(f"{d:g}" for d in doses)
        + " e/px (same scenario otherwise; at 0.25 nm/px, 20 / 100 / 300 e/px are 3.2 / 16 / 48"
        " e/A^2; 20 e/px is taken as the issue's low dose, the simulator's own default is 300 e/px)."
        " `--engine classical` gives the classical baseline.",
        *integration,
    ]


def run_track_eval(args: argparse.Namespace) -> int:
    """Run the evaluation and write the report; returns the exit code."""
    from nanolive.engines.base import EngineConfig

    from .config import TrackerConfig
    from .evaluation import Scenario, evaluate
    from .report import markdown_report

    if args.frames < 2:
        log.error("--frames must be >= 2")
        return 2
    try:
        scenario = Scenario(dose_e_per_px=args.dose, n_frames=args.frames)
        config = TrackerConfig()
        engine_config = EngineConfig(name=args.engine)
        results = evaluate(
            args.seeds,
            args.chain_seeds,
            scenario,
            config,
            args.match_distance,
            engine_config=engine_config,
            chain_doses=args.chain_dose,
            chain_integrate=args.chain_integrate,
        )
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    command = "nanolive " + " ".join(shlex.quote(a) for a in sys.argv[1:]) or "nanolive track-eval"
    text = markdown_report(
        results,
        scenario,
        config,
        command if "track-eval" in command else "nanolive track-eval",
        trackmate_lines=trackmate_summary(),
        speed_lines=[] if args.no_speed else speed_summary(),
        match_distance_px=args.match_distance,
        chain_lines=chain_summary(
            engine_config, args.chain_dose, args.chain_seeds, args.chain_integrate
        ),
        real_video_lines=[] if args.no_real_video else real_video_summary(args.engine),
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    log.info("wrote %s", args.output)
    print(text)
    return 0
