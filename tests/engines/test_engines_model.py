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
    with pytest.raises(ValueError, match="subpixel"):
        ModelSpec(stem_stride=1, subpixel=True)


@pytest.mark.parametrize("stem_stride", [2, 4])
def test_subpixel_correction_starts_as_the_plain_model_and_can_move_boundaries(
    stem_stride: int, tmp_path
) -> None:
    from nanolive.engines.train import load_initial_weights

    plain = tiny_model(seed=1, stem_stride=stem_stride)
    torch.save(plain.state_dict(), tmp_path / "plain.pt")
    sub = tiny_model(seed=2, stem_stride=stem_stride, subpixel=True)
    load_initial_weights(sub, tmp_path / "plain.pt")
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 1, 32, 48)).astype(np.float32))
    with torch.inference_mode():
        assert torch.equal(sub(x), plain(x))
        # A non-zero correction changes single full-resolution pixels within one coarse cell.
        torch.nn.init.normal_(sub.subpixel.weight)
        diff = (sub(x) - plain(x))[0, 0].numpy()
    cell = diff[:stem_stride, :stem_stride]
    assert np.ptp(cell) > 0


def test_initial_weights_must_fit(tmp_path) -> None:
    from nanolive.engines.train import load_initial_weights

    torch.save(UNet(ModelSpec(base_channels=8, levels=3)).state_dict(), tmp_path / "other.pt")
    with pytest.raises((ValueError, RuntimeError)):
        load_initial_weights(tiny_model(), tmp_path / "other.pt")
    torch.save({**tiny_model().state_dict(), "extra.weight": torch.zeros(1)}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="extra.weight"):
        load_initial_weights(tiny_model(), tmp_path / "x.pt")


@pytest.mark.parametrize("subpixel", [False, True])
def test_export_has_dynamic_batch_and_matches_torch(tmp_path, subpixel: bool) -> None:
    import onnx

    model = tiny_model(seed=3, subpixel=subpixel)
    if subpixel:
        torch.nn.init.normal_(model.subpixel.weight, std=0.1)
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
