"""The shipped model: torch and onnxruntime agree, and it really segments simulated frames."""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.engines.base import EngineConfig
from nanolive.engines.data import (
    INSITU,
    MODERATE_DOSE_E_PER_PX,
    default_data_root,
    real_samples,
)
from nanolive.engines.metrics import score_image
from nanolive.engines.neural import SHIPPED_STEM, weights_dir
from nanolive.engines.registry import create_engine

#: Parity tolerance on raw logits between torch and onnxruntime (fp32 both; observed ~1e-5).
LOGIT_ATOL = 1e-3


@pytest.fixture(scope="module")
def frames() -> list:
    """One HAADF and one BF frame at moderate dose on a moderately uneven support."""
    from nanolive.sim import SimConfig, simulate_image

    out = []
    for mode in ("haadf", "bf"):
        cfg = SimConfig(
            mode=mode,
            dose_e_per_px=MODERATE_DOSE_E_PER_PX,
            support_undulation_rms=0.1,
            support_signal_fraction=0.05,
        )
        out.append(simulate_image(cfg, 3))
    return out


def test_shipped_files_exist() -> None:
    for suffix in (".onnx", ".pt", ".json"):
        assert (weights_dir() / f"{SHIPPED_STEM}{suffix}").is_file()


def test_default_engine_is_onnx() -> None:
    assert EngineConfig().name == "onnx"


def test_torch_and_onnx_logits_agree(frames) -> None:
    torch_engine = create_engine(EngineConfig(name="torch", threads=1))
    onnx_engine = create_engine(EngineConfig(name="onnx", threads=1))
    batch = np.stack([frames[0].image, frames[1].image]).astype(np.float32)
    a, b = torch_engine.logits(batch), onnx_engine.logits(batch)
    assert a.shape == b.shape == (2, 2, 512, 512)
    assert np.abs(a - b).max() < LOGIT_ATOL
    assert np.array_equal(torch_engine.segment(batch), onnx_engine.segment(batch))


def test_int8_model_agrees_with_fp32_when_shipped(frames) -> None:
    q = weights_dir() / f"{SHIPPED_STEM}.int8.onnx"
    if not q.is_file():
        pytest.skip("no INT8 model shipped")
    fp32 = create_engine(EngineConfig(name="onnx", threads=1))
    int8 = create_engine(EngineConfig(name="onnx", threads=1, int8=True))
    a, b = fp32.logits(frames[0].image[None]), int8.logits(frames[0].image[None])
    assert np.mean((a[:, 0] > 0) == (b[:, 0] > 0)) > 0.99


@pytest.mark.parametrize(
    ("index", "min_f1", "min_dice"),
    [(0, 0.7, 0.75), (1, 0.3, 0.5)],
    ids=["haadf-bright", "bf-dark"],
)
def test_shipped_model_segments_simulated_frames(
    frames, index: int, min_f1: float, min_dice: float
) -> None:
    sample = frames[index]
    pred = create_engine(EngineConfig(name="onnx", threads=1)).segment(sample.image[None])[0]
    scores = score_image(sample.labels, pred)
    # chance level is ~0: a random or empty labelling matches no particle at IoU 0.5.
    # Measured at shipping: HAADF F1 0.89 / Dice 0.83, BF F1 0.54 / Dice 0.65 (classical: 0.70 / 0.10).
    assert scores.inst50.f1 > min_f1, scores
    assert scores.pixel.dice > min_dice, scores


def test_large_particles_take_the_downscaled_pass_and_stay_accurate() -> None:
    from nanolive.engines.postprocess import downscale_factor
    from nanolive.sim import SimConfig, simulate_image

    config = SimConfig(  # ~80 px across: twice the largest trained particles
        pixel_size_nm=0.1, radius_median_nm=4.0, radius_sigma=0.2, radius_min_nm=1.0, n_particles=12
    )
    frame = simulate_image(config, 501)
    engine = create_engine(EngineConfig(name="onnx", threads=1))
    assert downscale_factor(frame.labels) == 2
    scores = score_image(frame.labels, engine.segment(frame.image[None])[0])
    # Measured: F1 0.88 / Dice 0.95 on four such frames, as without the downscaled pass.
    assert scores.inst50.f1 > 0.75 and scores.pixel.dice > 0.85, scores


def test_shipped_model_on_a_held_out_real_bright_field_image() -> None:
    root = default_data_root()
    if not (root / INSITU).is_dir():
        pytest.skip("shared real data not present")
    sample = real_samples(root, INSITU, "test")[0]
    pred = create_engine(EngineConfig(name="onnx", threads=1)).segment(sample.image[None])[0]
    assert score_image(sample.labels, pred).pixel.dice > 0.85


def test_classical_engine_still_works(frames) -> None:
    pred = create_engine(EngineConfig(name="classical")).segment(frames[0].image[None])
    assert pred.shape == (1, 512, 512) and pred.max() > 0


def test_split_cores_separates_more_of_an_agglomerate() -> None:
    """EngineConfig.split_cores reaches the post-processing: on an agglomerated simulated frame the
    engine finds more particles at IoU 0.5 with it than without."""
    from nanolive.engines.data import simulated_eval_set
    from nanolive.engines.metrics import score_image

    sample = simulated_eval_set(1000.0, 3)[2]  # HAADF, agglomerated
    assert "agglomerated" in sample.name
    found = {}
    for split in (False, True):
        engine = create_engine(EngineConfig(name="onnx", threads=1, split_cores=split))
        found[split] = score_image(sample.labels, engine.segment(sample.image[None])[0]).inst50.tp
    assert found[True] > found[False]
