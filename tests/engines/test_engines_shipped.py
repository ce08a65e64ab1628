"""The shipped model: torch and onnxruntime agree, and it really segments simulated frames."""

from __future__ import annotations

import numpy as np
import pytest

from nanolive.engines.base import EngineConfig
from nanolive.engines.data import MODERATE_DOSE_E_PER_PX, simulated_eval_set
from nanolive.engines.metrics import score_image
from nanolive.engines.neural import SHIPPED_STEM, weights_dir
from nanolive.engines.registry import create_engine

#: Parity tolerance on raw logits between torch and onnxruntime (fp32 both; observed ~1e-5).
LOGIT_ATOL = 1e-3


@pytest.fixture(scope="module")
def frames() -> list:
    return simulated_eval_set(MODERATE_DOSE_E_PER_PX, 2, seed=3)  # one HAADF, one BF frame


def test_shipped_files_exist() -> None:
    for suffix in (".onnx", ".pt", ".json"):
        assert (weights_dir() / f"{SHIPPED_STEM}{suffix}").is_file()


def test_default_engine_is_onnx() -> None:
    assert EngineConfig().name == "onnx"


def test_torch_and_onnx_logits_agree(frames) -> None:
    torch_engine = create_engine(EngineConfig(name="torch", threads=1))
    onnx_engine = create_engine(EngineConfig(name="onnx", threads=1))
    batch = np.stack([frames[0].image, frames[1].image])
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


@pytest.mark.parametrize("index", [0, 1], ids=["haadf-bright", "bf-dark"])
def test_shipped_model_segments_simulated_frames(frames, index: int) -> None:
    sample = frames[index]
    pred = create_engine(EngineConfig(name="onnx", threads=1)).segment(sample.image[None])[0]
    scores = score_image(sample.labels, pred)
    # chance level is ~0: a random or empty labelling matches no particle at IoU 0.5
    assert scores.inst50.f1 > 0.7, scores
    assert scores.pixel.dice > 0.8, scores


def test_classical_engine_still_works(frames) -> None:
    pred = create_engine(EngineConfig(name="classical")).segment(frames[0].image[None])
    assert pred.shape == (1, 512, 512) and pred.max() > 0
