"""Training of the U-Net on a mix of simulated and real labelled patches (torch, CPU).

Loss = BCE + soft Dice on each output channel (foreground, core). Every random draw comes from one
seeded numpy Generator (data) and a seeded torch Generator scope (weight init), so a run is repeatable
on one machine. Checkpoints (state dict + spec JSON) are written every ``checkpoint_every`` steps, so a
stopped run still leaves a usable model.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .augment import AugmentConfig, training_pair, unit_scale
from .data import Sample
from .model import OUTPUT_CHANNELS, ModelSpec, UNet
from .targets import loss_weight_map, targets_from_labels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run.

    steps: optimiser steps. batch: patches per step. patch_px: patch side (px, multiple of the model's
    stride). lr: peak learning rate of Adam (cosine decay to 2 % after a 3 % warm-up).
    real_fraction: probability that a patch comes from a real labelled set rather than the simulator.
    insitu_share: among real patches, the share drawn from the in-situ BF-TEM set (rest: EMPS).
    threads: torch CPU threads (1 by default: on a 2-core machine shared with other jobs, 2 threads
        ran a step 5-10x slower than 1 thread, measured with channels-last tensors). seed: seeds data sampling and weight init.
    checkpoint_every: steps between checkpoints. core_weight: weight of the core channel's loss.
    small_weight: extra loss weight on small instances (equivalent diameter < 12 px) and a 2 px ring
        around them (engines/targets.py: loss_weight_map); 0 = every pixel weighs the same. The
        binary cross-entropy of both channels is weighted; the soft Dice is not.
    small_weight_real: apply ``small_weight`` to real patches too (False: simulated patches only; real
        patches then weigh every pixel the same).
    data_workers: 0 draws and augments each batch in the training process; 1 (default) does it in one
        worker process that keeps a few batches ready, so drawing (~75 ms per batch of 8) overlaps
        the optimiser step (~155 ms) on the second core. Both give the same batches in the same order
        (one seeded stream), so the choice changes the speed, not the result.
    """

    steps: int = 3000
    batch: int = 8
    patch_px: int = 192
    lr: float = 3e-3
    real_fraction: float = 0.25
    insitu_share: float = 0.4
    threads: int = 1
    seed: int = 0
    checkpoint_every: int = 250
    core_weight: float = 1.0
    small_weight: float = 0.0
    small_weight_real: bool = True
    data_workers: int = 1
    spec: ModelSpec = field(default_factory=ModelSpec)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1:
            raise ValueError(f"steps and batch must be >= 1, got {self.steps}, {self.batch}")
        if self.patch_px % self.spec.multiple:
            raise ValueError(
                f"patch_px {self.patch_px} must be a multiple of the model stride {self.spec.multiple}"
            )
        if not 0 <= self.real_fraction <= 1 or not 0 <= self.insitu_share <= 1:
            raise ValueError("real_fraction and insitu_share must be in [0, 1]")
        if self.small_weight < 0:
            raise ValueError(f"small_weight must be >= 0, not {self.small_weight}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, not {self.lr}")
        if self.data_workers not in (0, 1):
            raise ValueError(
                f"data_workers must be 0 or 1 (one seeded batch stream), not {self.data_workers}"
            )


@dataclass(frozen=True)
class Pools:
    """Training frames grouped by origin; images already unit-scaled (see ``unit_scale``)."""

    sim: list[Sample]
    insitu: list[Sample]
    emps: list[Sample]

    @staticmethod
    def from_samples(sim: list[Sample], insitu: list[Sample], emps: list[Sample]) -> Pools:
        """Return pools with every image mapped to its [0, 1] percentile scale."""

        def prep(samples: list[Sample]) -> list[Sample]:
            return [
                Sample(s.name, s.source, unit_scale(s.image), s.labels, s.boxes) for s in samples
            ]

        return Pools(prep(sim), prep(insitu), prep(emps))


#: Zoom ranges per origin: EMPS particles are often much larger than the in-situ/STEM ones.
SCALE_RANGES = {"sim": (0.7, 1.4), "insitu": (0.6, 1.3), "emps": (0.3, 1.0)}


def sample_batch(
    pools: Pools, cfg: TrainConfig, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return inputs (B, 1, P, P) and targets (B, 2, P, P) drawn by the configured mix; with
    ``cfg.small_weight`` > 0 the targets carry a third channel, the per-pixel loss weight."""
    xs, ys = [], []
    for _ in range(cfg.batch):
        real = rng.random() < cfg.real_fraction and (pools.insitu or pools.emps)
        if real:
            use_insitu = bool(pools.insitu) and (not pools.emps or rng.random() < cfg.insitu_share)
            origin = "insitu" if use_insitu else "emps"
        else:
            origin = "sim" if pools.sim else ("insitu" if pools.insitu else "emps")
        pool = getattr(pools, origin)
        s = pool[int(rng.integers(len(pool)))]
        x, lab = training_pair(
            s.image, s.labels, cfg.patch_px, cfg.augment, rng, SCALE_RANGES[origin]
        )
        xs.append(x[None])
        y = targets_from_labels(lab)
        if cfg.small_weight > 0:
            weight = cfg.small_weight if origin == "sim" or cfg.small_weight_real else 0.0
            y = np.concatenate([y, loss_weight_map(lab, weight)[None]])
        ys.append(y)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


class _BatchStream(torch.utils.data.IterableDataset):
    """The seeded stream of ``cfg.steps`` training batches (what ``sample_batch`` draws, in order)."""

    def __init__(self, pools: Pools, cfg: TrainConfig) -> None:
        self.pools, self.cfg = pools, cfg

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rng = np.random.default_rng(self.cfg.seed)
        for _ in range(self.cfg.steps):
            yield sample_batch(self.pools, self.cfg, rng)


def training_batches(pools: Pools, cfg: TrainConfig) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield the ``cfg.steps`` batches (inputs, targets) of a run, drawn in a worker process if
    ``cfg.data_workers`` is 1; the batches are the same either way (see :class:`TrainConfig`)."""
    stream = _BatchStream(pools, cfg)
    if cfg.data_workers == 0:
        yield from stream
        return
    loader = torch.utils.data.DataLoader(
        stream, batch_size=None, num_workers=1, prefetch_factor=4, multiprocessing_context="fork"
    )
    yield from loader


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return 1 - soft Dice per channel averaged, over the whole batch (sigmoid of logits)."""
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(0, 2, 3))
    denom = p.sum(dim=(0, 2, 3)) + target.sum(dim=(0, 2, 3))
    return (1 - (2 * inter + 1) / (denom + 1)).mean()


def segmentation_loss(
    logits: torch.Tensor, target: torch.Tensor, core_weight: float = 1.0
) -> torch.Tensor:
    """Return BCE + soft Dice summed over the foreground and (weighted) core channels.

    A third target channel, if present, weighs every pixel's cross-entropy (its mean is divided by
    the weights' mean, so the loss scale stays that of the unweighted loss).
    """
    pixel_weight = None
    if target.shape[1] > OUTPUT_CHANNELS:
        pixel_weight = target[:, OUTPUT_CHANNELS : OUTPUT_CHANNELS + 1]
        pixel_weight = pixel_weight / pixel_weight.mean()
    total = logits.new_zeros(())
    for ch, w in ((0, 1.0), (1, core_weight)):
        lg, tg = logits[:, ch : ch + 1], target[:, ch : ch + 1]
        bce = F.binary_cross_entropy_with_logits(lg, tg, weight=pixel_weight)
        total = total + w * (bce + soft_dice_loss(lg, tg))
    return total


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Return the learning rate at ``step``: linear warm-up over 3 %, then cosine to 2 % of peak."""
    warm = max(1, int(0.03 * cfg.steps))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    t = (step - warm) / max(1, cfg.steps - warm)
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


def new_model(spec: ModelSpec, seed: int) -> UNet:
    """Return a freshly initialised model whose weights depend only on ``seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return UNet(spec)


def save_checkpoint(model: UNet, out_dir: Path, stem: str, meta: dict) -> Path:
    """Write ``<stem>.pt`` (state dict) and ``<stem>.json`` (spec + meta); return the .pt path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pt = out_dir / f"{stem}.pt"
    torch.save(model.state_dict(), pt)
    info = {"spec": model.spec.as_dict(), **meta}
    (out_dir / f"{stem}.json").write_text(json.dumps(info, indent=1, default=str) + "\n")
    return pt


def load_model(pt_path: Path) -> UNet:
    """Return the model stored as ``<stem>.pt`` + ``<stem>.json`` (eval mode)."""
    info = json.loads(pt_path.with_suffix(".json").read_text())
    model = UNet(ModelSpec(**info["spec"]))
    model.load_state_dict(torch.load(pt_path, map_location="cpu", weights_only=True))
    return model.eval()


def load_initial_weights(model: UNet, pt_path: Path) -> None:
    """Load a state dict into ``model``; only the sub-pixel correction's weights may be missing."""
    state = torch.load(pt_path, map_location="cpu", weights_only=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    wrong = [k for k in missing if not k.startswith("subpixel.")] + list(unexpected)
    if wrong:
        raise ValueError(f"{pt_path} does not fit the model: {', '.join(wrong[:8])}")


def train(
    pools: Pools,
    cfg: TrainConfig,
    out_dir: Path | None = None,
    stem: str = "unet",
    progress: bool = True,
    init: Path | None = None,
) -> tuple[UNet, list[float]]:
    """Train a model on ``pools``; return it (eval mode) and the loss of every step.

    init: a .pt state dict to start from (fine-tuning) instead of a seeded random init: the same spec,
        or the same spec without the sub-pixel correction (which then starts at zero, see
        :class:`ModelSpec`).
    """
    from tqdm import tqdm

    torch.set_num_threads(cfg.threads)
    model = new_model(cfg.spec, cfg.seed)
    if init is not None:
        load_initial_weights(model, init)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    losses: list[float] = []
    meta = {
        "train": asdict(cfg),
        "init": str(init) if init is not None else None,
        "pools": {k: len(getattr(pools, k)) for k in ("sim", "insitu", "emps")},
    }
    t0 = time.time()
    bar = tqdm(
        training_batches(pools, cfg),
        total=cfg.steps,
        desc="training",
        unit="step",
        disable=not progress,
        mininterval=5,
    )
    model.train()
    for step, (x, y) in enumerate(bar):
        x = x.contiguous(memory_format=torch.channels_last)
        for g in opt.param_groups:
            g["lr"] = learning_rate(step, cfg)
        loss = segmentation_loss(model(x), y, cfg.core_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        last = step + 1 == cfg.steps
        if out_dir is not None and ((step + 1) % cfg.checkpoint_every == 0 or last):
            model.eval()
            save_checkpoint(
                model,
                out_dir,
                stem,
                {
                    **meta,
                    "steps_done": step + 1,
                    "seconds": time.time() - t0,
                    "loss_last100": float(np.mean(losses[-100:])),
                },
            )
            model.train()
            log.info(
                "step %d loss %.4f (%.0f s)", step + 1, np.mean(losses[-100:]), time.time() - t0
            )
    return model.eval(), losses
