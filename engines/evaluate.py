"""Scoring engines on labelled sets: the simulated hold-out at several doses and each real held-out set.

Pure orchestration over engines/metrics.py: run an engine frame by frame, score, summarise per set.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import Engine
from .data import (
    EMPS,
    INSITU,
    LPTEM,
    SIM_EVAL_DOSES,
    STEM_BOXES,
    Sample,
    load_lptem_video,
    real_samples,
    simulated_eval_set,
)
from .metrics import (
    centroids_xy,
    match_boxes,
    score_image,
    summarise,
    summarise_boxes,
)

log = logging.getLogger(__name__)

#: Names of the evaluation sets, in report order.
SET_NAMES: tuple[str, ...] = (
    *(f"sim-dose{d:g}" for d in SIM_EVAL_DOSES),
    INSITU,
    EMPS,
    STEM_BOXES,
    LPTEM,
)


@dataclass(frozen=True)
class SetResult:
    """Metrics of one engine on one set, plus the engine's mean seconds per frame on it."""

    engine: str
    dataset: str
    metrics: dict[str, float]
    seconds_per_frame: float


def load_set(name: str, root: Path, sim_frames: int = 8) -> list[Sample]:
    """Return the held-out samples of evaluation set ``name`` (see :data:`SET_NAMES`)."""
    if name.startswith("sim-dose"):
        return simulated_eval_set(float(name.removeprefix("sim-dose")), sim_frames)
    if name in (INSITU, EMPS, STEM_BOXES):
        return real_samples(root, name, "test")
    if name == LPTEM:
        return load_lptem_video(root)
    raise ValueError(f"unknown evaluation set {name!r}; choose from {', '.join(SET_NAMES)}")


def samples_by_kind(set_name: str, samples: list[Sample]) -> dict[str, list[Sample]]:
    """Return the simulated samples grouped by kind (mode and arrangement, read from the sample
    names ``sim-<mode>-<arrangement>-...``), keyed ``<set_name>-<mode>-<arrangement>``."""
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        parts = s.name.split("-")
        if len(parts) < 3 or parts[0] != "sim":
            raise ValueError(f"{s.name!r} is not a simulated hold-out sample")
        groups.setdefault(f"{set_name}-{parts[1]}-{parts[2]}", []).append(s)
    return dict(sorted(groups.items()))


def evaluate_samples(
    engine: Engine, engine_name: str, name: str, samples: list[Sample]
) -> SetResult:
    """Return the metrics of ``engine`` on ``samples`` (label or box ground truth)."""
    if not samples:
        raise ValueError(f"set {name!r} has no samples")
    t_total = 0.0
    scores, counts, n_true, n_pred = [], [], [], []
    for s in samples:
        t0 = time.perf_counter()
        pred = engine.segment(s.image[None])[0]
        t_total += time.perf_counter() - t0
        if s.boxes is not None:
            centres = centroids_xy(pred)
            counts.append(match_boxes(s.boxes, centres))
            n_true.append(len(s.boxes))
            n_pred.append(len(centres))
        else:
            scores.append(score_image(s.labels, pred, s.snr))
    metrics = summarise(scores) if scores else summarise_boxes(counts, n_true, n_pred)
    return SetResult(engine_name, name, metrics, t_total / len(samples))


COLUMNS: tuple[tuple[str, str], ...] = (
    ("miou", "MIoU"),
    ("pixel_accuracy", "acc"),
    ("kappa", "kappa"),
    ("dice", "Dice"),
    ("f1_iou50", "F1@.5"),
    ("f1_iou75", "F1@.75"),
    ("f1_box_centre", "F1box"),
    ("count_rel_err_mean", "count_err"),
    ("diameter_rel_err_mean", "diam_err"),
)


def format_table(results: list[SetResult]) -> str:
    """Return a Markdown table: one row per (set, engine), metric columns, ms per frame."""
    head = "| set | engine | " + " | ".join(c[1] for c in COLUMNS) + " | ms/frame |"
    sep = "|" + "---|" * (len(COLUMNS) + 3)
    rows = [head, sep]
    for r in results:
        vals = [
            f"{r.metrics[k]:.4f}" if k in r.metrics and np.isfinite(r.metrics[k]) else "-"
            for k, _ in COLUMNS
        ]
        rows.append(
            f"| {r.dataset} | {r.engine} | "
            + " | ".join(vals)
            + f" | {r.seconds_per_frame * 1e3:.0f} |"
        )
    return "\n".join(rows)


def format_visibility_table(results: list[SetResult]) -> str:
    """Return a Markdown table of the sets with ideal SNRs (simulated): the share of true particles
    at or above the Rose criterion (what an ideal single-frame detector can find), the engine's
    IoU-0.5 recall on those and on all; empty when no set has SNRs."""
    rows = [r for r in results if "visible_share" in r.metrics]
    if not rows:
        return ""
    out = [
        "| set | engine | true | Rose-visible share | recall, visible | recall, all |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r.metrics
        out.append(
            f"| {r.dataset} | {r.engine} | {m['count_true']:.0f} | {m['visible_share']:.3f} "
            f"| {m['recall_visible']:.3f} | {m['recall_iou50']:.3f} |"
        )
    return "\n".join(out)
