"""Measure the tracker on simulated videos with ground truth (nanolive.sim).

Two detection sources per video:
- "truth": detections are the simulator's particle table (centroids and areas measured on the true
  label image), so the numbers measure the tracker alone;
- the whole chain: detections come from a segmentation engine (the project's default engine unless
  told otherwise, built by `engines.registry.create_engine` as in the pipeline) + `particle_table`
  on the noisy image, at one or more doses; the source is named after the engine.

Prediction set scored: every detection whose track was confirmed at some point (tentative tracks that
never reached `min_hits` are dropped as spurious), with the id the tracker gave it online.
True merges are the simulator's merge events, placed at the child's centroid in its first frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .config import TrackerConfig
from .metrics import Points, clear_mot, event_scores, hota, identity_scores
from .tracker import Tracker
from .types import Detections, TrackEvent

if TYPE_CHECKING:
    from nanolive.engines.base import Engine, EngineConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scenario:
    """The simulated experiment of the issue's target (all else at the simulator's defaults).

    shape (px), n_particles, dose_e_per_px (low dose), drift_nm_per_s (stage drift), merge_probability
    (coalescence of particles in contact, per frame), n_frames.
    """

    shape: tuple[int, int] = (512, 512)
    n_particles: float = 150.0
    dose_e_per_px: float = 20.0
    drift_nm_per_s: tuple[float, float] = (1.5, -1.0)
    merge_probability: float = 0.2
    n_frames: int = 100

    def sim_config(self):  # noqa: ANN201 (SimConfig; sim imported lazily)
        """Return the simulator configuration of this scenario."""
        from nanolive.sim import SimConfig

        return SimConfig(
            shape=self.shape,
            n_particles=self.n_particles,
            dose_e_per_px=self.dose_e_per_px,
            drift_nm_per_s=self.drift_nm_per_s,
            merge_probability=self.merge_probability,
        )


@dataclass(frozen=True)
class VideoScores:
    """Scores of one video and detection source ("truth" or the engine's name); dose in e/px."""

    seed: int
    source: str
    mota: float
    idf1: float
    hota: float
    id_switches: int
    false_negatives: int
    false_positives: int
    n_true: int
    n_frames: int
    merge_precision: float
    merge_recall: float
    true_merges: int
    found_merges: int
    ms_per_frame: float
    detections_per_frame: float = float("nan")
    dose_e_per_px: float = float("nan")
    extra: dict[str, float] = field(default_factory=dict)


def detections_from_truth(particles: dict[str, np.ndarray]) -> Detections:
    """Return detections from a simulator particle table (label = the true track id)."""
    return Detections(
        x=particles["x"],
        y=particles["y"],
        area_px=np.maximum(np.asarray(particles["area_px"], dtype=np.float64), 1.0),
        label=particles["track_id"],
    )


def merge_events_of_truth(frames: Sequence) -> np.ndarray:  # noqa: ANN001
    """Return (frame, x, y) of every true merge whose child is visible in its first frame."""
    rows = []
    for fr in frames:
        ids = np.asarray(fr.particles["track_id"])
        for ev in fr.events:
            if ev.kind != "merge":
                continue
            hit = np.flatnonzero(ids == ev.children[0])
            if hit.size:
                k = int(hit[0])
                rows.append((fr.index, fr.particles["x"][k], fr.particles["y"][k]))
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _event_array(events: Iterable[TrackEvent], kind: str) -> np.ndarray:
    rows = [(e.frame, e.x, e.y) for e in events if e.kind == kind]
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def track_video(
    frames: Sequence,  # noqa: ANN001 (SimFrame)
    detections: Sequence[Detections],
    config: TrackerConfig,
    use_images: bool,
) -> tuple[list[Points], list[Points], list[TrackEvent], float]:
    """Run the tracker over a video; return per frame the predicted points (detections of tracks
    confirmed at some point) and the coasting points (`TrackUpdate.coasting_xy`: predicted positions
    of confirmed tracks that missed a detection), then the events and the ms per frame."""
    tracker = Tracker(config, frame_interval_s=float(frames[1].t_s - frames[0].t_s) or 1.0)
    ids_per_frame = []
    coasting: list[Points] = []
    events: list[TrackEvent] = []
    elapsed = 0.0
    for fr, det in zip(frames, detections, strict=True):
        t0 = time.perf_counter()
        up = tracker.update(det, image=fr.image if use_images else None, t_s=fr.t_s)
        elapsed += time.perf_counter() - t0
        ids_per_frame.append(up.track_ids)
        coasting.append(Points(up.coasting_ids, up.coasting_xy))
        events += up.events
    events += tracker.finish()
    confirmed = tracker.confirmed_track_ids()
    keep_ids = np.fromiter(confirmed, dtype=np.int64) if confirmed else np.zeros(0, np.int64)
    pred = []
    for ids, det in zip(ids_per_frame, detections, strict=True):
        keep = np.isin(ids, keep_ids)
        pred.append(Points(ids[keep], np.stack([det.x[keep], det.y[keep]], axis=1)))
    return pred, coasting, events, 1e3 * elapsed / max(1, len(frames))


def with_coasting(pred: Sequence[Points], coasting: Sequence[Points]) -> list[Points]:
    """Return per frame the predicted points plus the coasting points (as a live view shows them)."""
    return [
        Points(np.concatenate([p.ids, c.ids]), np.vstack([p.xy, c.xy]))
        for p, c in zip(pred, coasting, strict=True)
    ]


def truth_points(frames: Sequence) -> list[Points]:  # noqa: ANN001 (SimFrame)
    """Return the true particles of every frame as Points (track ids, centroids px)."""
    return [
        Points(fr.particles["track_id"], np.stack([fr.particles["x"], fr.particles["y"]], axis=1))
        for fr in frames
    ]


def score_video(
    seed: int,
    source: str,
    frames: Sequence,  # noqa: ANN001
    pred: Sequence[Points],
    events: Sequence[TrackEvent],
    ms_per_frame: float,
    match_distance_px: float,
    detections_per_frame: float = float("nan"),
    dose_e_per_px: float = float("nan"),
) -> VideoScores:
    """Return the scores of predicted points and events against the simulator's truth."""
    truth = truth_points(frames)
    mot = clear_mot(truth, pred, match_distance_px)
    idf = identity_scores(truth, pred, match_distance_px)
    h = hota(truth, pred, match_distance_px)
    true_merges = merge_events_of_truth(frames)
    found = _event_array(events, "merge")
    ev = event_scores(true_merges, found, max_frames=2, max_distance_px=match_distance_px * 2)
    return VideoScores(
        seed=seed,
        source=source,
        mota=mot.mota,
        idf1=idf.idf1,
        hota=h.hota,
        id_switches=mot.id_switches,
        false_negatives=mot.false_negatives,
        false_positives=mot.false_positives,
        n_true=mot.n_true,
        n_frames=len(frames),
        merge_precision=ev.precision,
        merge_recall=ev.recall,
        true_merges=true_merges.shape[0],
        found_merges=found.shape[0],
        ms_per_frame=ms_per_frame,
        detections_per_frame=detections_per_frame,
        dose_e_per_px=dose_e_per_px,
        extra={"deta": h.deta, "assa": h.assa, "motp_px": mot.motp_px},
    )


def engine_detections(
    frames: Sequence,  # noqa: ANN001 (SimFrame)
    engine: Engine,
    integrate_frames: int = 1,
) -> list[Detections]:
    """Return detections of ``engine`` + particle_table for every frame (one frame per call), the
    engine seeing the drift-aligned mean of the last ``integrate_frames`` frames as the pipeline
    does (``nanolive.stream.integrate``, default settings otherwise)."""
    from nanolive.analysis import particle_table
    from nanolive.stream.integrate import FrameIntegrator, IntegrationConfig

    integrator = FrameIntegrator(IntegrationConfig(frames=integrate_frames))
    out = []
    for fr in frames:
        image = integrator.add(fr.image).image
        labels = engine.segment(image[None].astype(np.float32))[0]
        table = particle_table(labels)
        out.append(Detections.from_table(table) if len(table["x"]) else Detections.empty())
    return out


def _videos(
    truth_seeds: Sequence[int],
    chain_seeds: Sequence[int],
    dose: float,
    chain_doses: Sequence[float],
) -> list[tuple[float, int, list[str]]]:
    """Return (dose e/px, seed, ["truth" and/or "chain"]) of every video to simulate, each once."""
    wanted: dict[tuple[float, int], list[str]] = {}
    for seed in truth_seeds:
        wanted.setdefault((float(dose), int(seed)), []).append("truth")
    for d in chain_doses:
        for seed in chain_seeds:
            kinds = wanted.setdefault((float(d), int(seed)), [])
            if "chain" not in kinds:
                kinds.append("chain")
    return [(d, seed, kinds) for (d, seed), kinds in sorted(wanted.items())]


def evaluate(
    truth_seeds: Sequence[int],
    chain_seeds: Sequence[int] = (),
    scenario: Scenario | None = None,
    config: TrackerConfig | None = None,
    match_distance_px: float = 5.0,
    use_images: bool = False,
    engine_config: EngineConfig | None = None,
    chain_doses: Sequence[float] | None = None,
    chain_integrate: Sequence[int] = (1,),
) -> list[VideoScores]:
    """Simulate one video per seed and dose; score the tracker on true detections (`truth_seeds`, at
    the scenario's dose) and the whole chain (`chain_seeds`, at each of `chain_doses` in e/px, default
    the scenario's dose) with the engine of `engine_config` (default `EngineConfig()`, the project's
    default engine), once per temporal integration in ``chain_integrate`` (frames averaged before
    segmentation, 1 = none; the source is then named e.g. "onnx, 3-frame integration"). Each
    (seed, dose) is simulated once; the engine is built once."""
    from nanolive.sim import simulate_video

    if not match_distance_px > 0:
        raise ValueError(f"match_distance_px must be > 0, not {match_distance_px!r}")
    scenario = scenario if scenario is not None else Scenario()
    config = config if config is not None else TrackerConfig()
    doses = (scenario.dose_e_per_px,) if chain_doses is None else tuple(chain_doses)
    if any(not d > 0 for d in doses):
        raise ValueError(f"chain doses must be > 0 e/px, not {doses!r}")
    if not chain_integrate or any(k < 1 for k in chain_integrate):
        raise ValueError(f"chain integrations must be >= 1 frame, not {chain_integrate!r}")
    engine = _create_engine(engine_config) if chain_seeds and doses else None
    results = []
    for dose, seed, kinds in _videos(truth_seeds, chain_seeds, scenario.dose_e_per_px, doses):
        sim_config = replace(scenario, dose_e_per_px=dose).sim_config()
        frames = list(simulate_video(sim_config, scenario.n_frames, seed=seed))
        runs = [("truth", 1)] if "truth" in kinds else []
        runs += [("chain", k) for k in chain_integrate] if "chain" in kinds else []
        for kind, k in runs:
            if kind == "truth":
                source, dets = "truth", [detections_from_truth(fr.particles) for fr in frames]
            else:
                source = engine.name if k == 1 else f"{engine.name}, {k}-frame integration"
                dets = engine_detections(frames, engine, k)
            pred, coasting, events, ms = track_video(frames, dets, config, use_images)
            n_det = float(np.mean([len(d) for d in dets]))
            scores = score_video(
                seed, source, frames, pred, events, ms, match_distance_px, n_det, dose
            )
            if kind == "chain":
                both = with_coasting(pred, coasting)
                scores = with_coasting_scores(scores, frames, both, match_distance_px)
                visible = {"visible_share": visible_share(frames, sim_config)}
                scores = replace(scores, extra={**scores.extra, **visible})
            logger.info(
                "seed %d %s %g e/px: MOTA %.4f IDF1 %.4f",
                seed,
                source,
                dose,
                scores.mota,
                scores.idf1,
            )
            results.append(scores)
    return results


def visible_share(frames: Sequence, sim_config) -> float:  # noqa: ANN001 (SimFrame, SimConfig)
    """Return the share of true particle points, over all frames, at or above the Rose criterion
    (ideal SNR >= 5, ``nanolive.sim.detectability``; unmeasurable ones count as visible): about the
    most a detector working frame by frame can find, so a bound on its recall and MOTA."""
    from nanolive.sim.detectability import frame_snr, visible_fraction

    snrs = [frame_snr(fr, sim_config)[1] for fr in frames]
    return visible_fraction(np.concatenate(snrs)) if snrs else float("nan")


def with_coasting_scores(
    scores: VideoScores,
    frames: Sequence,  # noqa: ANN001 (SimFrame)
    pred: Sequence[Points],
    match_distance_px: float,
) -> VideoScores:
    """Return ``scores`` with MOTA, IDF1 and HOTA of ``pred`` (detections + coasting positions) added
    to ``extra`` as mota_coasting, idf1_coasting, hota_coasting."""
    truth = truth_points(frames)
    extra = {
        **scores.extra,
        "mota_coasting": clear_mot(truth, pred, match_distance_px).mota,
        "idf1_coasting": identity_scores(truth, pred, match_distance_px).idf1,
        "hota_coasting": hota(truth, pred, match_distance_px).hota,
    }
    return replace(scores, extra=extra)


def _create_engine(engine_config: EngineConfig | None) -> Engine:
    """Return the engine of ``engine_config`` (default: the project's default) via the registry."""
    from nanolive.engines.base import EngineConfig
    from nanolive.engines.registry import create_engine

    return create_engine(engine_config if engine_config is not None else EngineConfig())
