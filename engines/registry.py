"""Create an engine by name: the one place that knows every backend."""

from __future__ import annotations

from .base import Engine, EngineConfig

ENGINE_NAMES: tuple[str, ...] = ("classical", "onnx", "torch", "tensorrt")


def create_engine(config: EngineConfig) -> Engine:
    """Return the engine named by ``config.name`` (heavy backends are imported only when chosen),
    wrapped in :class:`~.binning.BinnedEngine` when ``config.bin_factor`` > 1."""
    engine = _backend(config)
    if config.bin_factor > 1:
        from .binning import BinnedEngine

        return BinnedEngine(engine, config.bin_factor)
    return engine


def _backend(config: EngineConfig) -> Engine:
    if config.name == "classical":
        from .classical import ClassicalEngine

        return ClassicalEngine(config)
    if config.name == "onnx":
        from .onnx_engine import OnnxEngine

        return OnnxEngine(config)
    if config.name == "torch":
        from .torch_engine import TorchEngine

        return TorchEngine(config)
    if config.name == "tensorrt":
        from .tensorrt_engine import TensorRTEngine

        return TensorRTEngine(config)
    raise ValueError(f"unknown engine {config.name!r}; choose one of {', '.join(ENGINE_NAMES)}")
