"""Detectability of each true particle in a simulated frame: its ideal signal-to-noise ratio.

The ratio is that of an ideal observer who knows the particle's position, shape and the background
around it (signal known exactly) and sees only counting and read noise:

    SNR^2 = sum over pixels of (clean - background)^2 / variance,
    variance = gain x (clean - offset) + read_noise^2          (counts^2 per pixel)

summed over the particle's pixels and a ``margin_px`` band around them (the probe spreads its signal
there), leaving out other particles' pixels. ``background`` is the median of the noise-free image in
a ring around the particle that touches no particle. Support texture is not counted as noise, so the
ratio is an upper bound on what any detector can reach on one frame: a particle below the Rose
criterion (SNR 5, Rose 1948) cannot be found reliably by any method from that frame alone.

Pure numpy/scipy: arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

#: The Rose criterion: an object is reliably visible at an ideal SNR of at least 5.
ROSE_SNR = 5.0

#: The background ring starts this far (px) from any particle.
RING_GAP_PX = 3
#: Ring widths (px) tried in turn until the ring holds :data:`MIN_RING_PX` pixels.
RING_WIDTHS_PX = (4, 8, 16)
MIN_RING_PX = 12


def particle_snr(
    clean: np.ndarray,
    labels: np.ndarray,
    gain_counts_per_e: float = 1.0,
    offset_counts: float = 0.0,
    read_noise_counts: float = 0.0,
    margin_px: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (ids, snr): the sorted non-zero label ids of ``labels`` and each one's ideal SNR.

    ``clean`` is the noise-free expected image in detector counts (``SimFrame.clean``); the noise
    parameters are the simulator's (``SimConfig.gain_counts_per_e``, ``offset_counts``,
    ``read_noise_counts``). The SNR is NaN where no background ring free of particles is found
    within ``RING_GAP_PX + max(RING_WIDTHS_PX)`` px (a particle deep inside an agglomerate).
    """
    if clean.shape != labels.shape or clean.ndim != 2:
        raise ValueError(f"clean {clean.shape} and labels {labels.shape} must be equal 2-D shapes")
    ids = np.unique(labels)
    ids = ids[ids != 0]
    snr = np.full(ids.size, np.nan)
    if ids.size == 0:
        return ids, snr
    variance = gain_counts_per_e * np.maximum(clean.astype(np.float64) - offset_counts, 0.0)
    variance += read_noise_counts**2
    occupied = labels != 0
    pad = margin_px + RING_GAP_PX + max(RING_WIDTHS_PX)
    slices = ndi.find_objects(labels)
    for k, i in enumerate(ids):
        window = _padded(slices[i - 1], pad, labels.shape)
        snr[k] = _window_snr(
            clean[window], variance[window], labels[window] == i, occupied[window], margin_px
        )
    return ids, snr


def frame_snr(frame, config) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001 (SimFrame, SimConfig)
    """Return (ids, snr) of a simulated frame's true particles (:func:`particle_snr` with the
    frame's noise-free image and the noise parameters of the config that made it)."""
    return particle_snr(
        frame.clean,
        frame.labels,
        config.gain_counts_per_e,
        config.offset_counts,
        config.read_noise_counts,
    )


def _padded(sl: tuple[slice, slice], pad: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Return the slices grown by ``pad`` px on every side, clipped to the frame."""
    return tuple(
        slice(max(s.start - pad, 0), min(s.stop + pad, n)) for s, n in zip(sl, shape, strict=True)
    )


def _window_snr(
    clean: np.ndarray, variance: np.ndarray, mine: np.ndarray, occupied: np.ndarray, margin: int
) -> float:
    """Return the ideal SNR of one particle (mask ``mine``) inside its window, or NaN."""
    others = occupied & ~mine
    near = (ndi.binary_dilation(mine, iterations=margin) if margin else mine) & ~others
    free = ~ndi.binary_dilation(occupied, iterations=RING_GAP_PX)
    ring = None
    for width in RING_WIDTHS_PX:
        candidate = ndi.binary_dilation(mine, iterations=RING_GAP_PX + width) & free
        if np.count_nonzero(candidate) >= MIN_RING_PX:
            ring = candidate
            break
    if ring is None:
        return float("nan")
    delta = clean[near].astype(np.float64) - float(np.median(clean[ring]))
    var = np.maximum(variance[near], 1e-12)
    return float(np.sqrt(np.sum(delta * delta / var)))


def is_visible(snr: np.ndarray, threshold: float = ROSE_SNR) -> np.ndarray:
    """Return bool per particle: SNR at or above ``threshold``, or not measurable (NaN: no free
    background around it), which counts as visible so that shares stay upper bounds."""
    snr = np.asarray(snr, dtype=float)
    return np.isnan(snr) | (snr >= threshold)


def visible_fraction(snr: np.ndarray, threshold: float = ROSE_SNR) -> float:
    """Return the share of particles that are visible (:func:`is_visible`; 0..1, NaN when there is
    none): about the most an ideal single-frame detector can find."""
    return float(np.mean(is_visible(snr, threshold))) if np.size(snr) else float("nan")
