"""The segmentation engine interface shared by every backend.

An engine turns a batch of frames into instance label images. Frames are float32 arrays of detector
counts (any offset/scale; engines normalise internally), shape (B, H, W), all frames in one batch of the
same shape. Labels are int32, shape (B, H, W), 0 = background, 1..N = instances (numbered per frame).
Coordinates follow the numpy convention: y = row, x = column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Contrast = Literal["bright", "dark", "auto"]


@dataclass(frozen=True)
class EngineConfig:
    """Settings of the segmentation engine (the ``[engine]`` table of the TOML config).

    name: which engine: "onnx" (the default: the shipped U-Net on onnxruntime, CPU), "torch" (the
        same model in torch, the reference), "tensorrt" (NVIDIA GPU) or "classical" (the baseline).
    contrast: "bright" particles (HAADF-STEM), "dark" particles (bright-field TEM) or "auto" (decided per
        frame from the intensity distribution).
    weights: path to a model file (.onnx / .pt); empty = the shipped default model.
    threads: CPU threads for the engine (0 = library default).
    min_area_px: instances smaller than this many pixels are removed (px).
    int8: use the statically quantised INT8 ONNX model where available (onnx engine only).
    max_batch: largest batch the engine is built/optimised for (TensorRT profile upper bound).
    auto_scale: neural engines segment a frame whose particles are wider than ~48 px a second time,
        shrunk by 2, 4 or 8 to the scale the network was trained for, and combine both passes
        (engines/postprocess.py: downscale_factor, combine_scales); frames of smaller particles cost
        nothing extra.
    coarse_rescue: neural engines whose native pass is unsure of a frame (under 30 % of its
        foreground sure: the specks that pixel noise makes of large or blurred particles) segment it
        shrunk by 2, 4 and 8 and keep the most confident pass when it is clearly more confident and
        its particles are plausible (engines/postprocess.py: rescue_factor); confident frames cost
        nothing extra. Chosen on the training splits and simulated oversampled noisy frames.
    bin_factor: frames are averaged over bin_factor x bin_factor pixel blocks before segmentation and
        the labels are enlarged back to the frame's size (1 = off). For oversampled or very noisy
        frames whose particles are far wider than the ~5-40 px the network was trained for, where the
        native pass breaks a particle into noise specks and neither ``auto_scale`` nor
        ``coarse_rescue`` finds the scale.
        ``min_area_px`` counts binned pixels.
    min_relative_diameter: neural engines drop instances narrower than this fraction of the frame's
        area-weighted median equivalent diameter (noise specks beside large particles; 0 = off;
        engines/postprocess.py: drop_relative_specks). The default 0.2 drops nothing on frames of
        particles of one size range, and drops a real nucleus 5x narrower than its neighbours.
    split_cores: neural engines split a core region into its strong islands (core logit > 1, each
        >= 2 px) where touching particles' cores join through a weak bridge, on frames of small
        particles and where the unsplit outline is waisted (solidity < 0.9), so each particle of an
        agglomerate gets its own seed (engines/postprocess.py: core_seeds, convex_kept_whole). Off
        by default: on videos of dispersed particles its splits flicker and cost more false tracks
        than they gain (docs/model_card.md).
    """

    name: str = "onnx"
    contrast: Contrast = "auto"
    weights: str = ""
    threads: int = 0
    min_area_px: int = 4
    int8: bool = False
    max_batch: int = 8
    auto_scale: bool = True
    coarse_rescue: bool = True
    bin_factor: int = 1
    min_relative_diameter: float = 0.2
    split_cores: bool = False

    def __post_init__(self) -> None:
        if self.contrast not in ("bright", "dark", "auto"):
            raise ValueError(f"engine.contrast must be bright, dark or auto, not {self.contrast!r}")
        if self.threads < 0:
            raise ValueError(f"engine.threads must be >= 0, not {self.threads}")
        if self.min_area_px < 1:
            raise ValueError(f"engine.min_area_px must be >= 1, not {self.min_area_px}")
        if self.max_batch < 1:
            raise ValueError(f"engine.max_batch must be >= 1, not {self.max_batch}")
        if self.bin_factor < 1:
            raise ValueError(f"engine.bin_factor must be >= 1, not {self.bin_factor}")
        if not 0.0 <= self.min_relative_diameter < 1.0:
            raise ValueError(
                f"engine.min_relative_diameter must be in [0, 1), not {self.min_relative_diameter}"
            )


@runtime_checkable
class Engine(Protocol):
    """Anything that segments a batch of frames into instance labels."""

    name: str

    def segment(self, batch: np.ndarray) -> np.ndarray:
        """Return int32 labels (B, H, W) for float32 frames (B, H, W)."""
        ...


def as_batch(frames: np.ndarray) -> np.ndarray:
    """Return ``frames`` as a float32 (B, H, W) array; a single (H, W) frame becomes B = 1."""
    arr = np.asarray(frames)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"expected (H, W) or (B, H, W) frames, got shape {arr.shape}")
    return arr.astype(np.float32, copy=False)
