"""The network, its ONNX export and the neural engine plumbing (random weights: fast, no shipped file)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nanolive.engines.base import EngineConfig
from nanolive.engines.export import export_onnx, onnx_spec
from nanolive.engines.model import ModelSpec, UNet
from nanolive.engines.neural import NeuralSegmenter
from nanolive.engines.onnx_engine import create_session


def tiny_model(seed: int = 0, **kw) -> UNet:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return UNet(ModelSpec(base_channels=4, levels=3, **kw)).eval()


@pytest.mark.parametrize("stem_stride", [1, 2, 4])
def test_forward_keeps_the_input_size(stem_stride: int) -> None:
    model = tiny_model(stem_stride=stem_stride)
    m = model.spec.multiple
    out = model(torch.zeros(2, 1, 3 * m, 5 * m))
    assert out.shape == (2, 2, 3 * m, 5 * m)


def test_engine_pads_odd_frames_and_crops_back() -> None:
    model = tiny_model()

    def run(x: np.ndarray) -> np.ndarray:
        assert x.shape[2] % model.spec.multiple == 0 and x.shape[3] % model.spec.multiple == 0
        with torch.inference_mode():
            return model(torch.from_numpy(x)).numpy()

    seg = NeuralSegmenter(run, model.spec.multiple, EngineConfig(name="torch"))
    frames = np.random.default_rng(0).normal(size=(2, 37, 61)).astype(np.float32)
    assert seg.logits(frames).shape == (2, 2, 37, 61)
    labels = seg.segment(frames)
    assert labels.shape == (2, 37, 61) and labels.dtype == np.int32
    assert seg.segment(frames[0]).shape == (1, 37, 61)


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="levels"):
        ModelSpec(levels=1)
    with pytest.raises(ValueError, match="stem_stride"):
        ModelSpec(stem_stride=3)


def test_export_has_dynamic_batch_and_matches_torch(tmp_path) -> None:
    import onnx

    model = tiny_model(seed=3)
    path = export_onnx(model, tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version >= 17
    dim0 = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param and not dim0.dim_value  # symbolic batch axis
    assert onnx_spec(path) == model.spec
    session = create_session(path, threads=1)
    for batch in (1, 3):
        x = np.random.default_rng(batch).normal(size=(batch, 1, 32, 48)).astype(np.float32)
        got = session.run(None, {"input": x})[0]
        with torch.inference_mode():
            want = model(torch.from_numpy(x)).numpy()
        assert got.shape == (batch, 2, 32, 48)
        assert np.abs(got - want).max() < 1e-4
