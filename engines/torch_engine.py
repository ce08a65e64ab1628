"""The torch engine: the reference backend (CPU, or CUDA when available), from a .pt state dict."""

from __future__ import annotations

import numpy as np

from .base import EngineConfig
from .neural import NeuralSegmenter, resolve_weights


class TorchEngine:
    """Engine running the U-Net in torch; ``config.weights`` is a .pt with its .json side file."""

    name = "torch"

    def __init__(self, config: EngineConfig | None = None, device: str | None = None) -> None:
        import torch

        from .train import load_model

        self.config = config or EngineConfig(name="torch")
        path = resolve_weights(self.config, ".pt")
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = load_model(path).to(self.device)
        self._segmenter = NeuralSegmenter(self._run, self.model.spec.multiple, self.config)

    def _run(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model(torch.from_numpy(x).to(self.device)).float().cpu().numpy()

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Return float32 logits (B, 2, H, W) of frames (B, H, W)."""
        return self._segmenter.logits(batch)

    def segment(self, batch: np.ndarray) -> np.ndarray:
        """Return int32 instance labels (B, H, W) of float32 frames (B, H, W)."""
        return self._segmenter.segment(batch)
