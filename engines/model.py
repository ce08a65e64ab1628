"""The segmentation network: a small U-Net with depthwise-separable convolutions (torch).

Input: (B, 1, H, W) float32, a frame already normalised by :func:`normalise_frame` (robust percentile
scaling, particles of either contrast). H and W must be multiples of :func:`ModelSpec.multiple` (the
engines pad and crop back). Output: (B, 2, H, W) logits: channel 0 = particle foreground, channel 1 =
particle core (the interior of each instance, away from its border and from touching neighbours);
post-processing grows core seeds into the foreground to form instances.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

OUTPUT_CHANNELS = 2  # foreground, core


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of the U-Net.

    base_channels: channels of the first level (doubles per level, capped at 4x).
    levels: resolution levels of the encoder (>= 2); the deepest runs at 1 / 2^(levels-1) of the stem.
    stem_stride: 1 = the network runs at full resolution; 2 = a strided stem halves it and the logits are
        upsampled bilinearly (4x less compute; particles should be >= ~6 px across).
    separable: depthwise-separable convolutions (True) or plain 3x3 convolutions (False).
    subpixel: with a strided stem, add a learned sub-pixel correction to the bilinearly upsampled
        logits: a 1x1 convolution of the decoder's last features predicts stride^2 values per output
        channel that depth-to-space rearranges to full resolution (its weights start at zero, so a
        model without it is its exact starting point). Boundaries then need not follow the coarse
        grid, at almost no cost.
    """

    base_channels: int = 16
    levels: int = 4
    stem_stride: int = 2
    separable: bool = True
    subpixel: bool = False

    def __post_init__(self) -> None:
        if self.base_channels < 2:
            raise ValueError(f"base_channels must be >= 2, not {self.base_channels}")
        if not 2 <= self.levels <= 6:
            raise ValueError(f"levels must be in 2..6, not {self.levels}")
        if self.stem_stride not in (1, 2, 4):
            raise ValueError(f"stem_stride must be 1, 2 or 4, not {self.stem_stride}")
        if self.subpixel and self.stem_stride == 1:
            raise ValueError("subpixel needs a strided stem (stem_stride 2 or 4)")

    @property
    def multiple(self) -> int:
        """Return the number H and W must be a multiple of (px)."""
        return self.stem_stride * 2 ** (self.levels - 1)

    def as_dict(self) -> dict[str, int | bool]:
        """Return the spec as a JSON-friendly dict."""
        return asdict(self)


def conv_block(c_in: int, c_out: int, separable: bool) -> nn.Sequential:
    """Return two (separable) 3x3 conv + BatchNorm + ReLU layers mapping c_in to c_out channels."""
    layers: list[nn.Module] = []
    for c_a, c_b in ((c_in, c_out), (c_out, c_out)):
        if separable:
            layers += [
                nn.Conv2d(c_a, c_a, 3, padding=1, groups=c_a, bias=False),
                nn.Conv2d(c_a, c_b, 1, bias=False),
            ]
        else:
            layers.append(nn.Conv2d(c_a, c_b, 3, padding=1, bias=False))
        layers += [nn.BatchNorm2d(c_b), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """Small U-Net: strided or plain stem, max-pool encoder, nearest-upsample + concat decoder."""

    def __init__(self, spec: ModelSpec | None = None) -> None:
        super().__init__()
        self.spec = spec or ModelSpec()
        s = self.spec
        chans = [s.base_channels * min(2**i, 4) for i in range(s.levels)]
        stem: list[nn.Module] = []
        c_prev, stride = 1, s.stem_stride
        while True:
            step = 2 if stride > 1 else 1
            stem += [
                nn.Conv2d(c_prev, chans[0], 3, stride=step, padding=1, bias=False),
                nn.BatchNorm2d(chans[0]),
                nn.ReLU(inplace=True),
            ]
            c_prev, stride = chans[0], stride // step
            if stride == 1:
                break
        self.stem = nn.Sequential(*stem)
        self.down = nn.ModuleList(
            [conv_block(chans[0], chans[0], s.separable)]
            + [conv_block(chans[i - 1], chans[i], s.separable) for i in range(1, s.levels)]
        )
        self.up = nn.ModuleList(
            [
                conv_block(chans[i] + chans[i + 1], chans[i], s.separable)
                for i in range(s.levels - 1)
            ]
        )
        self.head = nn.Conv2d(chans[0], OUTPUT_CHANNELS, 1)
        self.subpixel: nn.Conv2d | None = None
        if s.subpixel:
            self.subpixel = nn.Conv2d(chans[0], OUTPUT_CHANNELS * s.stem_stride**2, 1)
            nn.init.zeros_(self.subpixel.weight)
            nn.init.zeros_(self.subpixel.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (B, 2, H, W) for normalised frames (B, 1, H, W)."""
        skips = []
        h = self.stem(x)
        for i, block in enumerate(self.down):
            if i > 0:
                h = F.max_pool2d(h, 2)
            h = block(h)
            skips.append(h)
        for i in range(self.spec.levels - 2, -1, -1):
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = self.up[i](torch.cat([h, skips[i]], dim=1))
        logits = self.head(h)
        if self.spec.stem_stride == 1:
            return logits
        scale = float(self.spec.stem_stride)
        logits = F.interpolate(logits, scale_factor=scale, mode="bilinear", align_corners=False)
        if self.subpixel is None:
            return logits
        return logits + F.pixel_shuffle(self.subpixel(h), self.spec.stem_stride)


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
