"""Random training patches: geometric and intensity augmentation of a labelled frame (numpy only).

Images enter scaled to [0, 1] between their 0.5th and 99.5th percentiles (see :func:`unit_scale`) and
leave in the network's input convention (:func:`nanolive.engines.postprocess.normalise_frame`: -1..1).
Every random draw comes from the numpy Generator passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .postprocess import NORM_PERCENTILES


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the augmentations.

    scale_range: zoom factors (output px per input px) drawn log-uniformly.
    rotate_p: probability of a free rotation (else only flips / 90 degree turns).
    gamma_range: gamma applied to the [0, 1] image.
    blur_p, blur_sigma_max_px: Gaussian blur (px).
    poisson_p, poisson_counts_range: re-draw the image as Poisson counts with this mean at intensity 1.
    gauss_p, gauss_sigma_max: additive Gaussian noise (in units of the [0, 1] scale).
    jitter_p, jitter_sigma_px: scan-line jitter: each row shifted by a random whole number of px.
    invert_p: probability of inverting the contrast (bright <-> dark particles).
    level_jitter: random offset and relative gain applied to the final -1..1 scaling.
    """

    scale_range: tuple[float, float] = (0.7, 1.4)
    rotate_p: float = 0.5
    gamma_range: tuple[float, float] = (0.7, 1.4)
    blur_p: float = 0.25
    blur_sigma_max_px: float = 1.2
    poisson_p: float = 0.3
    poisson_counts_range: tuple[float, float] = (4.0, 200.0)
    gauss_p: float = 0.4
    gauss_sigma_max: float = 0.08
    jitter_p: float = 0.2
    jitter_sigma_px: float = 0.8
    invert_p: float = 0.2
    level_jitter: float = 0.15

    def __post_init__(self) -> None:
        lo, hi = self.scale_range
        if not 0 < lo <= hi:
            raise ValueError(f"scale_range must satisfy 0 < lo <= hi, not {self.scale_range}")
        for name in ("rotate_p", "blur_p", "poisson_p", "gauss_p", "jitter_p", "invert_p"):
            p = getattr(self, name)
            if not 0 <= p <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], not {p}")


def unit_scale(image: np.ndarray) -> np.ndarray:
    """Return the image mapped so its 0.5th / 99.5th percentiles become 0 / 1 (float32)."""
    img = np.asarray(image, dtype=np.float32)
    lo, hi = np.percentile(img, NORM_PERCENTILES)
    span = float(hi - lo) if hi > lo else 1.0
    return (img - np.float32(lo)) / np.float32(span)


def random_patch(
    image01: np.ndarray,
    labels: np.ndarray,
    size: int,
    rng: np.random.Generator,
    scale_range: tuple[float, float],
    rotate_p: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return a (size, size) patch of image and labels under a random rotation / zoom / flip.

    Zoom s > 1 enlarges particles. Points outside the frame are mirrored. Labels use nearest neighbour.
    """
    s = math.exp(rng.uniform(math.log(scale_range[0]), math.log(scale_range[1])))
    theta = rng.uniform(0, 2 * math.pi) if rng.random() < rotate_p else 0.0
    c, si = math.cos(theta), math.sin(theta)
    matrix = np.array([[c, -si], [si, c]]) / s
    h, w = image01.shape
    centre_in = np.array([rng.uniform(0, h - 1), rng.uniform(0, w - 1)])
    centre_out = np.array([(size - 1) / 2, (size - 1) / 2])
    offset = centre_in - matrix @ centre_out
    img = ndi.affine_transform(image01, matrix, offset, (size, size), order=1, mode="mirror")
    lab = ndi.affine_transform(labels, matrix, offset, (size, size), order=0, mode="mirror")
    k = int(rng.integers(4))
    img, lab = np.rot90(img, k), np.rot90(lab, k)
    if rng.random() < 0.5:
        img, lab = img[:, ::-1], lab[:, ::-1]
    return np.ascontiguousarray(img), np.ascontiguousarray(lab)


def scan_line_jitter(
    image: np.ndarray, labels: np.ndarray, sigma_px: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return image and labels with every row shifted by round(N(0, sigma_px)) px (wrapping)."""
    shifts = np.rint(rng.normal(0, sigma_px, image.shape[0])).astype(np.int64)
    cols = (np.arange(image.shape[1])[None, :] - shifts[:, None]) % image.shape[1]
    rows = np.arange(image.shape[0])[:, None]
    return image[rows, cols], labels[rows, cols]


def augment_intensity(img: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Return the [0, 1]-scaled patch after random gamma, blur, Poisson and Gaussian noise, inversion."""
    x = np.clip(img, -0.5, 1.5).astype(np.float32)
    gamma = math.exp(rng.uniform(math.log(cfg.gamma_range[0]), math.log(cfg.gamma_range[1])))
    x = np.where(x > 0, np.abs(x) ** gamma, x).astype(np.float32)
    if rng.random() < cfg.blur_p:
        x = ndi.gaussian_filter(x, rng.uniform(0.3, cfg.blur_sigma_max_px))
    if rng.random() < cfg.poisson_p:
        lo, hi = cfg.poisson_counts_range
        k = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        x = (rng.poisson(np.clip(x + 0.5, 0, None) * k) / k - 0.5).astype(np.float32)
    if rng.random() < cfg.gauss_p:
        x = x + rng.normal(0, rng.uniform(0, cfg.gauss_sigma_max), x.shape).astype(np.float32)
    if rng.random() < cfg.invert_p:
        x = 1.0 - x
    return x


def training_pair(
    image01: np.ndarray,
    labels: np.ndarray,
    size: int,
    cfg: AugmentConfig,
    rng: np.random.Generator,
    scale_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (network input (size, size) in -1..1, instance labels (size, size)) for one patch."""
    img, lab = random_patch(
        image01, labels, size, rng, scale_range or cfg.scale_range, cfg.rotate_p
    )
    if rng.random() < cfg.jitter_p:
        img, lab = scan_line_jitter(img, lab, cfg.jitter_sigma_px, rng)
    x = augment_intensity(img, cfg, rng)
    gain = 2.0 * math.exp(rng.uniform(-cfg.level_jitter, cfg.level_jitter))
    x = (x - 0.5) * gain + rng.uniform(-cfg.level_jitter, cfg.level_jitter)
    return np.clip(x, -2.0, 2.0).astype(np.float32), lab.astype(np.int32)
