"""Format tracking evaluation results as the Markdown page docs/tracking.md (pure: strings out)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .config import TrackerConfig
from .evaluation import Scenario, VideoScores

TARGETS = {"mota": 0.95, "idf1": 0.90, "merge_recall": 0.80}

TRUTH_TITLE = "Tracker alone (detections = true particle table of each frame)"


def chain_title(engine: str, dose_e_per_px: float) -> str:
    """Return the heading of the whole-chain table of one engine (``name`` or ``name, how``, e.g.
    "onnx, 3-frame integration") and dose (e/px)."""
    name, _, how = engine.partition(", ")
    suffix = f", {how}" if how else ""
    return (
        f"Whole chain at {dose_e_per_px:g} e/px ({name} engine + particle_table on the noisy"
        f" image{suffix})"
    )


METHOD = """## Method (nanolive.trackers)

- **State and filter.** Per track [x, vx, y, vy, d, vd] (px, px/frame; d = equivalent diameter). F, H,
  Q, R are built with filterpy (`kinematic_kf`, `Q_discrete_white_noise`): a random walk of the
  position (the Brownian step, `diffusion_sigma_px`) plus a low-weight velocity driven by white-noise
  acceleration (`velocity_sigma_px`), the same for the diameter. One filterpy `KalmanFilter` per track
  costs ~60 us per predict+update in Python (see Speed), so the identical equations run batched over
  all tracks with numpy; the model is block diagonal (x, y, d independent), which the code checks, and
  a test compares the batched filter with filterpy's `KalmanFilter` track by track.
- **Gating and cost.** One KD-tree query (scipy `cKDTree`) gives each predicted track its nearest
  detections within `max_distance_px`; the cost is the squared Mahalanobis distance of the position
  innovation (S = HPH' + R, so a coasting track's gate widens).
- **Assignment.** The thresholded LAP is solved exactly, never "assign then drop": star-shaped
  components are decided directly, the rest goes into one Jaqaman augmented sparse matrix (dummy
  rows/columns at non_link_cost / 2) solved by `scipy.sparse.csgraph.min_weight_full_bipartite_matching`;
  tests compare with brute force and with the padded dense `linear_sum_assignment`.
- **Drift.** By default from the detections: the previous frame's drift is the prior and the
  residual is the mode of the nearest-neighbour displacements (a wide search when it is large).
  Optional phase correlation of consecutive binned images (`drift="phase"`, or `"auto"` with an
  image): robust to jumps larger than the particle spacing, but slower and ~0.2 px less precise here.
- **Lifecycle.** Tentative until `min_hits` matches, coasting through `max_gap` missed frames, deleted
  after; ids are never reused. Events: appear (on confirmation), disappear (reason `left_field` at the
  edge), merge and split.
- **Merges and splits.** Suggested when a track ends next to a detection whose volume (area^1.5)
  matches the sum of two tracks (or the reverse); decided `merge_confirm_frames` later on areas
  averaged since the event and only if the ended track did not come back, so segmentation flicker and
  missed detections are not events. The product gets a new id (as in the simulator); the offline
  history is relabelled back to the event frame.
- **Use.** `tracker = Tracker(TrackerConfig(), frame_interval_s, pixel_size_nm)`; per frame
  `update = tracker.update(Detections.from_table(particle_table(labels)), image, t_s)` gives
  `update.track_ids` (aligned with the detections) and `update.events`; at the end `tracker.finish()`
  and `tracker.summaries()`.
- **Per track** (`Tracker.summaries()`): drift-corrected velocity (least squares), diffusion
  coefficient by the covariance estimator of Vestergaard et al. 2014 (unbiased by localisation error,
  which it also returns) and by the MSD slope over lags 1-4, diameter growth rate (px/s and nm/s).
"""


#: Scores also computed with coasting positions added (VideoScores.extra keys <key>_coasting).
COASTING: dict[str, str] = {"mota": "MOTA", "idf1": "IDF1", "hota": "HOTA"}


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def _fmt(v: float, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"


def scores_table(rows: Sequence[VideoScores], with_targets: bool) -> list[str]:
    """Return Markdown lines of a per-seed table with a mean row."""
    head = (
        "| seed | MOTA | IDF1 | HOTA | ID switches | FN | FP | true points | detections / true per"
        " frame | merges true / found | merge precision | merge recall | tracker ms/frame |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r.seed} | {_fmt(r.mota)} | {_fmt(r.idf1)} | {_fmt(r.hota)} | {r.id_switches} | "
            f"{r.false_negatives} | {r.false_positives} | {r.n_true} | "
            f"{r.detections_per_frame:.0f} / {r.n_true / max(1, r.n_frames):.0f} | {r.true_merges} / "
            f"{r.found_merges} | {_fmt(r.merge_precision, 2)} | {_fmt(r.merge_recall, 2)} | "
            f"{r.ms_per_frame:.1f} |"
        )
    if rows:
        mean = {k: _nanmean([getattr(r, k) for r in rows]) for k in TARGETS}
        mean["merge_precision"] = _nanmean([r.merge_precision for r in rows])
        mean["hota"] = float(np.mean([r.hota for r in rows]))
        lines.append(
            f"| mean | {_fmt(mean['mota'])} | {_fmt(mean['idf1'])} | {_fmt(mean['hota'])} | | | | | | "
            f"| {_fmt(mean['merge_precision'], 2)} | {_fmt(mean['merge_recall'], 2)} | |"
        )
    if with_targets and rows:
        ok = [
            all(getattr(r, k) >= v for k, v in TARGETS.items() if not np.isnan(getattr(r, k)))
            for r in rows
        ]
        lines.append("")
        lines.append(
            f"Targets (MOTA >= {TARGETS['mota']}, IDF1 >= {TARGETS['idf1']}, merge recall >= "
            f"{TARGETS['merge_recall']}) met on {sum(ok)} of {len(ok)} seeds"
            + (
                "."
                if all(ok)
                else f"; not met on seed(s) {[r.seed for r, g in zip(rows, ok, strict=True) if not g]}."
            )
        )
    return lines


def _groups(results: Sequence[VideoScores]) -> list[tuple[str, float, list[VideoScores]]]:
    """Return (source, dose e/px, rows) per table: "truth" first, then by dose each engine."""
    keys: list[tuple[str, float]] = []
    for r in results:
        if (r.source, r.dose_e_per_px) not in keys:
            keys.append((r.source, r.dose_e_per_px))
    keys.sort(key=lambda k: (k[0] != "truth", k[1], k[0]))
    return [(s, d, [r for r in results if (r.source, r.dose_e_per_px) == (s, d)]) for s, d in keys]


def markdown_report(
    results: Sequence[VideoScores],
    scenario: Scenario,
    config: TrackerConfig,
    command: str,
    trackmate_lines: Sequence[str] = (),
    speed_lines: Sequence[str] = (),
    match_distance_px: float = 5.0,
    chain_lines: Sequence[str] = (),
    real_video_lines: Sequence[str] = (),
) -> str:
    """Return the whole Markdown page; ``chain_lines`` describe the whole chain (engine, doses);
    ``real_video_lines`` the chain on a real (not simulated) video with true masks."""
    out = [
        "# Particle tracking: measured accuracy",
        "",
        f"Written by `{command}` (nanolive.trackers.cli); rerun it to reproduce every number here.",
        "",
        "## Setup",
        "",
        "Simulated videos (nanolive.sim, defaults except): "
        + ", ".join(
            f"`{f.name}={getattr(scenario, f.name)!r}`" for f in dataclasses.fields(scenario)
        )
        + ". Brownian motion at the simulator's default diffusion, stage drift, coalescence of"
        " particles in contact (new id for the child at the volume-weighted centre).",
        "",
        "Tracker: `TrackerConfig()` defaults ("
        + ", ".join(f"{f.name}={getattr(config, f.name)!r}" for f in dataclasses.fields(config))
        + ").",
        "",
        f"Scoring: a predicted point matches a true one within {match_distance_px} px. MOTA/ID"
        " switches: CLEAR-MOT; IDF1: global id matching; HOTA: similarity max(0, 1 - d / "
        f"{match_distance_px} px), mean over alpha 0.05..0.95. The scored prediction is every detection"
        " of a track that was confirmed at some point, with the id given online (tentative-only tracks"
        " are dropped; a merge product keeps its survivor's id until the merge is confirmed, which"
        " costs one ID switch per merge). A found merge matches a true merge within 2 frames and"
        f" {2 * match_distance_px} px (the child's centroid). Settings were chosen on seeds 101-103"
        " and 1 only; the seeds below were not looked at before this run.",
        "",
    ]
    if chain_lines:
        out += [*chain_lines, ""]
    out += [METHOD, ""]
    for source, dose, rows in _groups(results):
        truth = source == "truth"
        out += [f"## {TRUTH_TITLE if truth else chain_title(source, dose)}", ""]
        out += scores_table(rows, with_targets=truth)
        if not truth and rows and "mota_coasting" in rows[0].extra:
            coast = {k: _nanmean([r.extra[f"{k}_coasting"] for r in rows]) for k in COASTING}
            out += [
                "",
                "With the predicted positions of confirmed tracks coasting through a missed detection"
                " added (`TrackUpdate.coasting_xy`, what a live view of the tracks shows), mean "
                + ", ".join(f"{COASTING[k]} {_fmt(v)}" for k, v in coast.items())
                + ".",
            ]
        if not truth and rows and "visible_share" in rows[0].extra:
            share = _nanmean([r.extra["visible_share"] for r in rows])
            out += [
                "",
                f"Detectability: {_fmt(share)} of the true particle points reach the Rose criterion"
                " (ideal SNR >= 5 on their frame, `nanolive.sim.detectability`: an observer who"
                " knows each particle's position and shape and sees only counting noise). A"
                " detector working frame by frame finds about that share at most, so its recall"
                " and MOTA stay below it whatever the tracker does.",
            ]
        ratio = _nanmean([r.detections_per_frame * r.n_frames / max(1, r.n_true) for r in rows])
        if not truth and not 0.67 <= ratio <= 1.5:
            out += [
                "",
                f"The detector returns {ratio:.1f} times as many objects per frame as there are"
                " particles: these numbers measure the segmentation, not the tracker.",
            ]
        out.append("")
    if trackmate_lines:
        out += [
            "## Regression against TrackMate (laptrack reference tracks)",
            "",
            *trackmate_lines,
            "",
        ]
    if real_video_lines:
        out += ["## Whole chain on a liquid-cell video with true masks", "", *real_video_lines, ""]
    if speed_lines:
        out += ["## Speed", "", *speed_lines, ""]
    return "\n".join(out).rstrip() + "\n"
