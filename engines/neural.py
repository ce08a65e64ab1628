"""The part every neural backend shares: frames -> network input -> logits -> instance labels.

A backend supplies only a *runner*: a callable mapping normalised, padded input (B, 1, H', W') float32
to logits (B, 2, H', W') float32 (channel 0 foreground, 1 core); see engines/model.py. This module pads
frames to the network stride, crops the logits back and turns them into labels (engines/postprocess.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .base import EngineConfig, as_batch
from .postprocess import (
    block_mean,
    combine_scales,
    downscale_factor,
    drop_relative_specks,
    instances_from_logits,
    native_is_unsure,
    normalise_batch,
    pad_to_multiple,
    rescue_factor,
    rescue_factors,
    upsample_logits,
)

Runner = Callable[[np.ndarray], np.ndarray]

#: File stem of the shipped model in engines/weights/ (<stem>.onnx, <stem>.pt, <stem>.json).
SHIPPED_STEM = "unet_s"


def weights_dir() -> Path:
    """Return the folder of the shipped model files."""
    return Path(__file__).resolve().parent / "weights"


def resolve_weights(config: EngineConfig, suffix: str) -> Path:
    """Return the model file to load: ``config.weights`` or the shipped ``<stem><suffix>``.

    A weights path with another model suffix names the sibling file of this backend's kind
    (``m.onnx`` -> ``m.pt`` for torch), so one ``--weights`` serves every engine.
    Raises FileNotFoundError with the path tried when it does not exist.
    """
    if not config.weights:
        path = weights_dir() / f"{SHIPPED_STEM}{suffix}"
    else:
        path = Path(config.weights)
        if path.suffix != suffix and path.suffix in (".onnx", ".pt"):
            path = (
                path.with_suffix("").with_suffix(suffix)
                if path.stem.endswith(".int8")
                else path.with_suffix(suffix)
            )
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    return path


def read_spec_multiple(json_path: Path) -> int:
    """Return the stride multiple (px) recorded in a model's JSON side file."""
    from .model import ModelSpec

    info = json.loads(json_path.read_text())
    return ModelSpec(**info["spec"]).multiple


class NeuralSegmenter:
    """Engine logic around a runner: normalise, pad, infer, crop, post-process (per frame)."""

    def __init__(self, runner: Runner, multiple: int, config: EngineConfig) -> None:
        if multiple < 1:
            raise ValueError(f"multiple must be >= 1, not {multiple}")
        self.runner = runner
        self.multiple = multiple
        self.config = config

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Return float32 logits (B, 2, H, W) of frames (B, H, W) (any intensity scale)."""
        frames = as_batch(batch)
        x, (h, w) = pad_to_multiple(normalise_batch(frames), self.multiple)
        out = np.asarray(self.runner(np.ascontiguousarray(x, dtype=np.float32)))
        if out.shape[:2] != (x.shape[0], 2) or out.shape[2:] != x.shape[2:]:
            raise RuntimeError(f"runner returned shape {out.shape} for input {x.shape}")
        return out[:, :, :h, :w]

    def segment(self, batch: np.ndarray) -> np.ndarray:
        """Return int32 instance labels (B, H, W) of frames (B, H, W).

        With ``config.coarse_rescue``, a frame whose native pass is unsure of its foreground (noise
        specks, :func:`native_is_unsure`) is segmented shrunk by 2, 4 and 8, and the most confident
        of those passes replaces it where it is clearly more confident (:func:`rescue_factor`).
        Otherwise, with ``config.auto_scale``, a frame whose particles are larger than the network
        was trained for (see :func:`downscale_factor`) is segmented a second time, shrunk by 2, 4 or
        8, and both passes are combined (:func:`combine_scales`).
        """
        frames = as_batch(batch)
        logits = self.logits(frames)
        out = np.empty((logits.shape[0], *logits.shape[2:]), dtype=np.int32)
        for i, lg in enumerate(logits):
            out[i] = self.frame_labels(frames[i], lg)
        return out

    def frame_labels(self, frame: np.ndarray, native: np.ndarray) -> np.ndarray:
        """Return int32 labels of one frame (H, W) from its native logits (2, H, W), without the
        specks far narrower than the frame's typical particle (``config.min_relative_diameter``)."""
        return drop_relative_specks(
            self.pass_labels(frame, native), self.config.min_relative_diameter
        )

    def pass_labels(self, frame: np.ndarray, native: np.ndarray) -> np.ndarray:
        """Return int32 labels of one frame from the pass that suits it: coarse rescue, native, or
        native combined with a downscaled pass (auto-scale)."""
        if self.config.coarse_rescue and native_is_unsure(native[0]):
            rescued = self.rescued_labels(frame, native)
            if rescued is not None:
                return rescued
        labels = self.instances(native, 1)
        factor = downscale_factor(labels) if self.config.auto_scale else 1
        if factor > 1:
            return self.rescaled_labels(frame, native, factor)
        return labels

    def rescued_labels(self, frame: np.ndarray, native: np.ndarray) -> np.ndarray | None:
        """Return labels from the most confident coarse pass of a frame whose native pass is unsure,
        or None when no coarse pass is clearly better (see :func:`rescue_factor`)."""
        coarse = {f: self.shrunk_logits(frame, f) for f in rescue_factors(frame.shape)}
        factor = rescue_factor(native[0], {f: lg[0] for f, lg in coarse.items()})
        if factor == 1:
            return None
        return self.instances(upsample_logits(coarse[factor], factor, frame.shape), factor)

    def shrunk_logits(self, frame: np.ndarray, factor: int) -> np.ndarray:
        """Return logits (2, H // factor, W // factor) of one frame block-averaged ``factor`` times."""
        return self.logits(block_mean(frame, factor)[None])[0]

    def rescaled_labels(self, frame: np.ndarray, native: np.ndarray, factor: int) -> np.ndarray:
        """Return labels of one frame from its native logits and a pass shrunk ``factor`` times."""
        full = upsample_logits(self.shrunk_logits(frame, factor), factor, frame.shape)
        return self.instances(combine_scales(native, full), factor)

    def instances(self, logits: np.ndarray, factor: int) -> np.ndarray:
        """Return int32 labels from full-size logits (2, H, W) of a pass shrunk ``factor`` times
        (1 = native): ``min_area_px`` counts pixels of that pass."""
        return instances_from_logits(
            logits,
            self.config.min_area_px * factor * factor,
            split_cores=self.config.split_cores,
        )
