"""TensorRT engine parity with torch (runs only where TensorRT and a CUDA GPU are present)."""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.engines.base import EngineConfig

#: FP16 plan vs fp32 torch: tolerance on raw logits, and agreement of the foreground decision.
LOGIT_ATOL_FP16 = 0.1
FOREGROUND_AGREEMENT = 0.999


def has_cuda() -> bool:
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        return False
    err, count = cudart.cudaGetDeviceCount()
    return int(err) == 0 and count > 0


@pytest.mark.gpu
def test_tensorrt_matches_torch(tmp_path) -> None:
    pytest.importorskip("tensorrt")
    if not has_cuda():
        pytest.skip("no CUDA device")
    from nanolive.engines.tensorrt_engine import TensorRTEngine
    from nanolive.engines.torch_engine import TorchEngine

    rng = np.random.default_rng(0)
    batch = rng.normal(100, 10, (3, 250, 300)).astype(np.float32)
    trt_engine = TensorRTEngine(EngineConfig(name="tensorrt", max_batch=4), cache_dir=tmp_path)
    ref = TorchEngine(EngineConfig(name="torch"), device="cpu")
    a, b = trt_engine.logits(batch), ref.logits(batch)
    assert a.shape == b.shape == (3, 2, 250, 300)
    assert np.abs(a - b).max() < LOGIT_ATOL_FP16
    assert np.mean((a[:, 0] > 0) == (b[:, 0] > 0)) > FOREGROUND_AGREEMENT
    assert list(tmp_path.glob("*.plan"))  # the plan was cached
    again = TensorRTEngine(EngineConfig(name="tensorrt", max_batch=4), cache_dir=tmp_path)
    assert np.abs(again.logits(batch) - a).max() < 1e-3


def test_tensorrt_module_imports_without_tensorrt() -> None:
    from nanolive.engines import tensorrt_engine

    key1 = tensorrt_engine.plan_key(b"onnx", "10.0", "GPU sm90", ((1,),), True)
    key2 = tensorrt_engine.plan_key(b"onnx", "10.1", "GPU sm90", ((1,),), True)
    assert key1 != key2  # a new TensorRT version never reuses an old plan
