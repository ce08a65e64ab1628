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


def test_small_instance_region_covers_small_particles_and_a_ring() -> None:
    from nanolive.engines.targets import loss_weight_map, small_instance_region

    yy, xx = np.mgrid[:64, :64]
    labels = np.zeros((64, 64), np.int32)
    labels[(yy - 15) ** 2 + (xx - 15) ** 2 <= 3**2] = 1  # ~6 px across: small
    labels[(yy - 40) ** 2 + (xx - 40) ** 2 <= 10**2] = 2  # ~20 px across: not small
    region = small_instance_region(labels, max_diameter_px=12.0, ring_px=2)
    assert region[labels == 1].all() and not region[labels == 2].any()
    assert region[15, 15 + 3 + 2] and not region[15, 15 + 3 + 4]  # the 2 px ring, no further
    weight = loss_weight_map(labels, 3.0)
    assert weight[15, 15] == 4.0 and weight[40, 40] == 1.0 and weight.dtype == np.float32


def test_weighted_loss_scales_with_the_errors_under_the_weight() -> None:
    import torch

    target = torch.zeros(1, 2, 8, 8)
    target[:, :, 2:6, 2:6] = 1
    logits = (target * 2 - 1) * 2
    logits[:, :, 2:4, 2:4] = -3.0  # wrong on one corner of the particle
    ones = torch.ones(1, 1, 8, 8)
    plain = segmentation_loss(logits, target)
    assert float(segmentation_loss(logits, torch.cat([target, ones], 1))) == pytest.approx(
        float(plain), rel=1e-6
    )
    on_error = ones.clone()
    on_error[:, :, 2:4, 2:4] = 4.0
    elsewhere = ones.clone()
    elsewhere[:, :, 6:, 6:] = 4.0
    weighted_error = float(segmentation_loss(logits, torch.cat([target, on_error], 1)))
    weighted_right = float(segmentation_loss(logits, torch.cat([target, elsewhere], 1)))
    assert weighted_error > float(plain) > weighted_right


def test_small_weight_adds_a_weight_channel_to_the_targets() -> None:
    pools = Pools.from_samples(disc_frames(4, np.random.default_rng(0)), [], [])
    cfg = replace(tiny_config(1), small_weight=3.0)
    _, y = next(iter(training_batches(pools, replace(cfg, data_workers=0))))
    assert y.shape[1] == 3
    weight = y[:, 2]
    assert float(weight.min()) == 1.0 and float(weight.max()) == 4.0
    assert bool((weight[y[:, 0] > 0] > 1).any())  # small discs are weighted
    with pytest.raises(ValueError, match="small_weight"):
        TrainConfig(small_weight=-1.0)


def test_small_weight_can_spare_the_real_patches() -> None:
    frames = disc_frames(4, np.random.default_rng(0))
    real_only = Pools.from_samples([], frames, [])
    cfg = replace(tiny_config(1), small_weight=3.0, data_workers=0, real_fraction=1.0)
    _, y = next(iter(training_batches(real_only, replace(cfg, small_weight_real=False))))
    assert y.shape[1] == 3 and float(y[:, 2].max()) == 1.0
    _, y = next(iter(training_batches(real_only, cfg)))
    assert float(y[:, 2].max()) == 4.0
