"""Training on tiny hand-made data: the loss falls, and a seeded run repeats exactly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from nanolive.engines.augment import AugmentConfig
from nanolive.engines.data import Sample
from nanolive.engines.model import ModelSpec
from nanolive.engines.train import (
    Pools,
    TrainConfig,
    segmentation_loss,
    train,
    training_batches,
)


def disc_frames(n: int, rng: np.random.Generator, size: int = 64) -> list[Sample]:
    """Return noisy frames of bright discs (radius 4-7 px) with exact instance labels."""
    yy, xx = np.mgrid[:size, :size]
    out = []
    for i in range(n):
        labels = np.zeros((size, size), np.int32)
        for k in range(1, 6):
            cy, cx, r = rng.uniform(8, size - 8), rng.uniform(8, size - 8), rng.uniform(4, 7)
            labels[((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) & (labels == 0)] = k
        image = (labels > 0) * 1.0 + rng.normal(0, 0.3, labels.shape)
        out.append(Sample(f"d{i}", "sim", image.astype(np.float32), labels))
    return out


def tiny_config(steps: int) -> TrainConfig:
    return TrainConfig(
        steps=steps,
        batch=4,
        patch_px=32,
        lr=1e-2,
        real_fraction=0.0,
        spec=ModelSpec(base_channels=4, levels=2, stem_stride=1),
        augment=AugmentConfig(scale_range=(0.9, 1.1), poisson_p=0, gauss_p=0, invert_p=0),
        seed=7,
    )


def test_loss_decreases_on_tiny_data() -> None:
    pools = Pools.from_samples(disc_frames(4, np.random.default_rng(0)), [], [])
    _, losses = train(pools, tiny_config(60), progress=False)
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])


def test_seeded_training_repeats(tmp_path) -> None:
    pools = Pools.from_samples(disc_frames(2, np.random.default_rng(1)), [], [])
    _, a = train(pools, tiny_config(3), progress=False)
    _, b = train(pools, tiny_config(3), out_dir=tmp_path, stem="m", progress=False)
    assert a == b
    assert (tmp_path / "m.pt").is_file() and (tmp_path / "m.json").is_file()


def test_worker_process_draws_the_same_batches() -> None:
    """data_workers=1 (a worker process) and 0 (in process) give the same seeded batch stream."""
    pools = Pools.from_samples(disc_frames(3, np.random.default_rng(2)), [], [])
    cfg = tiny_config(5)
    in_process = list(training_batches(pools, replace(cfg, data_workers=0)))
    worker = list(training_batches(pools, replace(cfg, data_workers=1)))
    assert len(in_process) == len(worker) == 5
    for (xa, ya), (xb, yb) in zip(in_process, worker, strict=True):
        assert xa.shape == (4, 1, 32, 32) and ya.shape == (4, 2, 32, 32)
        assert np.array_equal(xa.numpy(), xb.numpy()) and np.array_equal(ya.numpy(), yb.numpy())
    assert not np.array_equal(in_process[0][0].numpy(), in_process[1][0].numpy())


def test_loss_is_lower_for_right_answers() -> None:
    import torch

    target = torch.zeros(1, 2, 8, 8)
    target[:, :, 2:6, 2:6] = 1
    good = segmentation_loss((target * 2 - 1) * 6, target)
    bad = segmentation_loss(-(target * 2 - 1) * 6, target)
    assert float(good) < 0.1 < float(bad)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="multiple"):
        TrainConfig(patch_px=100)
    with pytest.raises(ValueError, match="real_fraction"):
        TrainConfig(real_fraction=1.5)
    with pytest.raises(ValueError, match="data_workers"):
        TrainConfig(data_workers=2)
