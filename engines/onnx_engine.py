"""The onnxruntime engine: the default CPU backend (tuned threads, full graph optimisation, INT8)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .base import EngineConfig
from .export import INPUT_NAME, onnx_spec
from .neural import NeuralSegmenter, resolve_weights

log = logging.getLogger(__name__)


def int8_path(fp32_path: Path) -> Path:
    """Return the path of the INT8 sibling of an fp32 model (``x.onnx`` -> ``x.int8.onnx``)."""
    return fp32_path.with_suffix(".int8.onnx")


def create_session(path: Path, threads: int, providers: list[str] | None = None):
    """Return an onnxruntime InferenceSession with full graph optimisation and no spin-waiting.

    threads: intra-op threads (0 = onnxruntime's default, one per core).
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=providers or ["CPUExecutionProvider"])


class OnnxEngine:
    """Engine running the exported U-Net in onnxruntime (CPU). ``config.int8`` picks the INT8 model."""

    name = "onnx"

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig(name="onnx")
        path = resolve_weights(self.config, ".onnx")
        if self.config.int8:
            q = int8_path(path)
            if q.is_file():
                path = q
            else:
                log.warning("no INT8 model at %s; using the fp32 model %s", q, path)
        self.model_path = path
        self.session = create_session(path, self.config.threads)
        self._segmenter = NeuralSegmenter(self._run, onnx_spec(path).multiple, self.config)

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {INPUT_NAME: x})[0]

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Return float32 logits (B, 2, H, W) of frames (B, H, W)."""
        return self._segmenter.logits(batch)

    def segment(self, batch: np.ndarray) -> np.ndarray:
        """Return int32 instance labels (B, H, W) of float32 frames (B, H, W)."""
        return self._segmenter.segment(batch)
