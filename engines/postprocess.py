"""Pre- and post-processing shared by every neural backend (pure numpy/scipy, no framework).

Pre: robust per-frame intensity scaling, padding to a multiple of the network stride.
Post: network logits (foreground, core) -> int32 instance labels: each connected core becomes a seed,
a watershed grows it over the foreground; foreground blobs without a seed become an instance each;
instances smaller than ``min_area_px`` are dropped.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import convex_hull_image
from skimage.segmentation import watershed

NORM_PERCENTILES: tuple[float, float] = (0.5, 99.5)


def normalise_frame(image: np.ndarray) -> np.ndarray:
    """Return the frame scaled so its 0.5th..99.5th percentiles map to -1..1, clipped to -2..2.

    The percentiles come from a 1-in-4 subsample along each axis (fast, and robust to hot pixels).
    A constant frame maps to zeros. Contrast (bright or dark particles) is kept: the network learned both.
    """
    img = np.asarray(image, dtype=np.float32)
    sample = img[::4, ::4] if min(img.shape) >= 64 else img
    lo, hi = np.percentile(sample, NORM_PERCENTILES)
    span = float(hi - lo)
    if not np.isfinite(span) or span <= 0:
        return np.zeros(img.shape, dtype=np.float32)
    out = (img - np.float32(lo)) * np.float32(2.0 / span) - np.float32(1.0)
    return np.clip(out, -2.0, 2.0, out=out)


def normalise_batch(batch: np.ndarray) -> np.ndarray:
    """Return a (B, 1, H, W) float32 network input from (B, H, W) frames."""
    return np.stack([normalise_frame(f) for f in batch])[:, None]


def pad_to_multiple(batch: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Return (B, C, H', W') reflect-padded at the bottom/right to multiples of ``multiple`` and (H, W)."""
    h, w = batch.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return batch, (h, w)
    mode = "reflect" if ph < h and pw < w else "edge"
    padded = np.pad(batch, ((0, 0), (0, 0), (0, ph), (0, pw)), mode=mode)
    return padded, (h, w)


def relabel_kept(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Return int32 labels renumbered 1..N keeping the label values where ``keep`` (indexed by
    label value; entry 0 is ignored) is True; the others become background."""
    keep = keep.copy()
    keep[0] = False
    lut = np.zeros(keep.size, dtype=np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


def relabel_without_small(labels: np.ndarray, min_area_px: int) -> np.ndarray:
    """Return labels renumbered 1..N after removing instances smaller than ``min_area_px`` (px)."""
    return relabel_kept(labels, np.bincount(labels.ravel()) >= min_area_px)


#: An instance is kept only if its foreground logit somewhere exceeds this (sigmoid 0.95): removes the
#: faint blobs that support texture produces on noisy frames. Chosen with the shipped model (session
#: 8) as the largest value that costs no F1 on simulated validation frames (seed 1, 100 and 1000
#: e/px), on the in-situ and EMPS training splits and 60 particle-free simulated frames
#: (docs/model_card.md); tied to the weights it was chosen with.
MIN_PEAK_LOGIT = 3.0


def drop_faint(labels: np.ndarray, fg_logit: np.ndarray, min_peak_logit: float) -> np.ndarray:
    """Return labels with the instances whose peak foreground logit is <= min_peak_logit set to 0."""
    n = int(labels.max())
    if n == 0:
        return labels
    keep = np.bincount(labels[fg_logit > min_peak_logit], minlength=n + 1) > 0
    keep[0] = False
    return np.where(keep[labels], labels, 0).astype(np.int32)


def seeded_labels(fg: np.ndarray, seeds: np.ndarray, n_seeds: int, core: np.ndarray) -> np.ndarray:
    """Return int32 instance labels of the foreground ``fg`` grown from ``seeds`` (labels 1..n_seeds).

    Each 8-connected foreground component is one instance if it holds one seed (its label) or none
    (a new label after ``n_seeds``, in raster order); those with several seeds are split among them by
    a watershed on ``-core`` (8-connected), run on those components only. This equals
    ``watershed(-core, seeds, mask=fg, connectivity=2)`` plus labelling the seedless components, at a
    fraction of the cost: most components hold one seed. Seeds must lie inside ``fg``.
    """
    comp, n_comp = ndi.label(fg, structure=np.ones((3, 3), dtype=bool))
    inside = seeds > 0
    owner = np.zeros(n_comp + 1, dtype=np.int32)
    owner[comp[inside]] = seeds[inside]
    seed_comp = np.zeros(n_seeds + 1, dtype=np.int64)
    seed_comp[seeds[inside]] = comp[inside]
    seeds_per_comp = np.bincount(seed_comp[1:], minlength=n_comp + 1)
    seedless = np.flatnonzero(seeds_per_comp[1:] == 0) + 1
    owner[seedless] = n_seeds + 1 + np.arange(seedless.size, dtype=np.int32)
    owner[0] = 0
    labels = owner[comp]
    multi = seeds_per_comp >= 2
    multi[0] = False
    if not multi.any():
        return labels
    # One watershed over the bounding box of all multi-seed components (per-component calls cost
    # ~1 ms each in fixed overhead, more than flooding a larger box once).
    mask = multi[comp]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    m = mask[box]
    grown = watershed(-core[box], np.where(m, seeds[box], 0), mask=m, connectivity=2)
    labels[box][m] = grown[m]
    return labels


#: A core region is split into several seeds where it holds two or more islands of core logit above
#: this, each of at least CORE_SPLIT_MIN_PX px: touching particles whose cores join only through a
#: weak bridge. Only on frames whose particles are small (area-weighted median equivalent diameter
#: of the unsplit instances <= CORE_SPLIT_MAX_DIAMETER_PX): the cores of large particles hold
#: texture islands. Chosen on the training splits and simulated validation frames
#: (docs/model_card.md).
CORE_SPLIT_LOGIT = 1.0
CORE_SPLIT_MIN_PX = 2
CORE_SPLIT_MAX_DIAMETER_PX = 16.0
#: ... and only where the unsplit instance is not convex (solidity below this).
CORE_SPLIT_MAX_SOLIDITY = 0.9


def core_seeds(
    regions: np.ndarray,
    n_regions: int,
    core_logit: np.ndarray,
    split_logit: float = CORE_SPLIT_LOGIT,
    min_island_px: int = CORE_SPLIT_MIN_PX,
) -> tuple[np.ndarray, int]:
    """Return (seeds, n): int32 seed labels of the 8-connected core regions ``regions`` (labels
    1..n_regions, as ``ndi.label`` gives them), ids in 1..n (not every id need be used:
    :func:`seeded_labels` accepts gaps).

    Each core region is one seed, unless it holds two or more islands where ``core_logit`` >
    ``split_logit`` of at least ``min_island_px`` px each: then each such island is a seed (the rest
    of the region is left to the watershed that grows the seeds).
    """
    core_region = regions > 0
    eight = np.ones((3, 3), dtype=bool)
    islands, n_islands = ndi.label(core_region & (core_logit > split_logit), structure=eight)
    if n_islands < 2:
        return regions, n_regions
    # work on the core pixels only (a few % of the frame)
    where = np.flatnonzero(core_region)
    reg, isl = regions.ravel()[where], islands.ravel()[where]
    big = np.bincount(isl, minlength=n_islands + 1) >= min_island_px
    big[0] = False
    region_of_island = np.zeros(n_islands + 1, dtype=np.int64)
    region_of_island[isl] = reg  # every pixel of an island lies in one region
    split = np.bincount(region_of_island[big], minlength=n_regions + 1) >= 2
    split[0] = False
    if not split.any():
        return regions, n_regions
    # seeds: whole regions that are not split (ids 1..n_regions), big islands of split regions
    # (n_regions + island id); the other pixels of split regions are left to the watershed
    island_seed = np.where(big & split[region_of_island], n_regions + np.arange(n_islands + 1), 0)
    in_split = split[reg]
    seeds = regions.ravel().copy()
    seeds[where[in_split]] = island_seed[isl[in_split]]
    return seeds.reshape(regions.shape).astype(np.int32, copy=False), n_regions + n_islands


def instances_from_logits(
    logits: np.ndarray,
    min_area_px: int = 4,
    min_peak_logit: float = MIN_PEAK_LOGIT,
    split_cores: bool = False,
) -> np.ndarray:
    """Return int32 instance labels (H, W) from logits (2, H, W): foreground and core channels.

    A pixel is foreground where its foreground logit > 0; seeds are the connected regions of
    foreground pixels whose core logit > 0 (8-connectivity), a region split into its strong islands
    where two touching cores join through a weak bridge (:func:`core_seeds`). A watershed on the
    negated core logit grows the seeds over the foreground, so touching particles split where the
    core evidence is lowest; foreground blobs that no seed reaches become one instance each.
    Instances whose foreground logit never exceeds ``min_peak_logit``, or smaller than
    ``min_area_px`` (px), are dropped. With ``split_cores`` the seeds of frames of small particles
    are split (see :data:`CORE_SPLIT_MAX_DIAMETER_PX`); ``False``: one seed per core region.
    """
    if logits.ndim != 3 or logits.shape[0] != 2:
        raise ValueError(f"expected logits of shape (2, H, W), got {logits.shape}")
    fg = logits[0] > 0
    if not fg.any():
        return np.zeros(fg.shape, dtype=np.int32)
    core_region = fg & (logits[1] > 0)
    seeds, n_seeds = ndi.label(core_region, structure=np.ones((3, 3), dtype=bool))
    labels = _grown(fg, seeds, n_seeds, logits, min_area_px, min_peak_logit)
    if not split_cores or not _small_particles(labels):
        return labels
    split_seeds, n_split = core_seeds(seeds, n_seeds, logits[1])
    if n_split == n_seeds:  # no region split
        return labels
    split = _grown(fg, split_seeds, n_split, logits, min_area_px, min_peak_logit)
    return convex_kept_whole(labels, split, CORE_SPLIT_MAX_SOLIDITY)


def convex_kept_whole(whole: np.ndarray, split: np.ndarray, max_solidity: float) -> np.ndarray:
    """Return int32 labels: ``split`` (instances after core splitting), except that every instance
    of ``whole`` (before splitting) that ``split`` divides but whose solidity (area / convex hull
    area) is at least ``max_solidity`` is kept whole: two touching round particles make a waisted,
    non-convex outline; a single rod or ellipsoid whose core has two islands does not."""
    both = (whole > 0) & (split > 0)
    stride = np.int64(split.max()) + 1
    pairs = np.unique(whole[both].astype(np.int64) * stride + split[both])
    owners, pieces = np.unique(pairs // stride, return_counts=True)
    divided = owners[pieces >= 2]
    if divided.size == 0:
        return split
    out = split.astype(np.int32, copy=True)
    boxes = ndi.find_objects(whole)
    next_id = int(stride)
    for w in divided:
        box = boxes[w - 1]
        mask = whole[box] == w
        if np.count_nonzero(mask) >= max_solidity * np.count_nonzero(convex_hull_image(mask)):
            out[box][mask] = next_id
            next_id += 1
    return relabel_without_small(out, 1)


def _grown(
    fg: np.ndarray,
    seeds: np.ndarray,
    n_seeds: int,
    logits: np.ndarray,
    min_area_px: int,
    min_peak_logit: float,
) -> np.ndarray:
    """Return the instances grown from ``seeds`` over ``fg``, faint and small ones dropped."""
    labels = seeded_labels(fg, seeds, n_seeds, logits[1])
    return relabel_without_small(drop_faint(labels, logits[0], min_peak_logit), min_area_px)


def _small_particles(labels: np.ndarray) -> bool:
    """Return whether the frame's instances are small enough for core splitting."""
    areas = np.bincount(labels.ravel())[1:]
    return 0 < median_diameter_of_areas(areas) <= CORE_SPLIT_MAX_DIAMETER_PX


#: Particle scale the network was trained for: equivalent diameters of ~5-40 px.
SCALE_TRIGGER_PX = 48.0  # re-segment downscaled when the typical instance is wider than this (px)
SCALE_TARGET_PX = 40.0  # ... by the power of two that brings it nearest to this (px)
MAX_DOWNSCALE = 8
#: Where the downscaled pass is this sure of a particle, it fills holes of the native pass (logit).
COARSE_SURE_LOGIT = 3.0
#: Near the downscaled pass's foreground (logit above this) the native boundaries are kept.
COARSE_NEAR_LOGIT = -1.0


def equivalent_diameters_of_areas(areas_px: np.ndarray) -> np.ndarray:
    """Return the equivalent-circle diameters (px) of areas (px^2)."""
    return np.sqrt(4.0 * np.asarray(areas_px, dtype=np.float64) / np.pi)


def area_weighted_median_diameter(labels: np.ndarray) -> float:
    """Return the median equivalent diameter (px) of the instances, weighting each by its area.

    Area weighting makes a few large particles count more than many small specks of texture; 0.0
    when there is no instance.
    """
    return median_diameter_of_areas(np.bincount(labels.ravel())[1:])


def median_diameter_of_areas(areas: np.ndarray) -> float:
    """Return the area-weighted median equivalent diameter (px) of instance areas (px^2; zero
    areas ignored); 0.0 when there is none."""
    areas = areas[areas > 0].astype(np.float64)
    if areas.size == 0:
        return 0.0
    diameters = equivalent_diameters_of_areas(areas)
    order = np.argsort(diameters)
    cumulative = np.cumsum(areas[order])
    return float(diameters[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def drop_relative_specks(labels: np.ndarray, min_relative_diameter: float) -> np.ndarray:
    """Return labels renumbered 1..N without the instances whose equivalent diameter (px) is below
    ``min_relative_diameter`` times the frame's area-weighted median diameter (0 = keep all).

    On frames of large particles, pixel noise and support texture leave specks a few px wide that a
    fixed ``min_area_px`` cannot tell from real small particles on frames of small ones; relative to
    the frame's own particle size it can. A particle 5x narrower than the typical one (25x less
    area) is dropped: the cost is real nuclei that small beside large particles.
    """
    if min_relative_diameter <= 0:
        return labels
    areas = np.bincount(labels.ravel())
    if areas.size <= 1:
        return labels
    limit = min_relative_diameter * median_diameter_of_areas(areas[1:])
    return relabel_kept(labels, equivalent_diameters_of_areas(areas) >= limit)


def downscale_factor(labels: np.ndarray) -> int:
    """Return 1, 2, 4 or 8: how much to shrink a frame so its particles reach the trained scale.

    1 unless the area-weighted median diameter exceeds :data:`SCALE_TRIGGER_PX`; else the power of
    two nearest to diameter / :data:`SCALE_TARGET_PX`, at most :data:`MAX_DOWNSCALE`.
    """
    d = area_weighted_median_diameter(labels)
    if d <= SCALE_TRIGGER_PX:
        return 1
    return int(min(MAX_DOWNSCALE, 2 ** round(np.log2(d / SCALE_TARGET_PX))))


#: Coarse rescue (EngineConfig.coarse_rescue): a foreground pixel is "sure" above this logit.
SURE_LOGIT = 3.0
#: The native pass is unsure of a frame when fewer than this fraction of its foreground pixels are sure.
UNSURE_NATIVE = 0.3
#: A coarser pass replaces an unsure native pass only when at least this fraction of its foreground
#: is sure, and at least RESCUE_GAIN more than the native pass's.
RESCUE_MIN_SURE = 0.4
RESCUE_GAIN = 0.2
#: ... and only if the native pass marked at least this fraction of the frame as foreground (noise
#: specks), or the coarse pass at most RESCUE_MAX_COARSE_FG (compact particles, not a whole-frame
#: support or vacuum region that a native pass of an empty frame rightly ignores).
RESCUE_MIN_NATIVE_FG = 0.02
RESCUE_MAX_COARSE_FG = 0.2
#: Downscale factors tried by the rescue, and the smallest side (px) a shrunk frame may have.
RESCUE_FACTORS: tuple[int, ...] = (2, 4, 8)
RESCUE_MIN_SIDE_PX = 32


def sure_fraction(fg_logit: np.ndarray) -> float:
    """Return the fraction of foreground pixels (logit > 0) whose logit exceeds :data:`SURE_LOGIT`
    (0.0 for a frame without foreground): how confident a pass is of what it calls particles."""
    fg = fg_logit > 0
    n = int(np.count_nonzero(fg))
    return float(np.count_nonzero(fg_logit > SURE_LOGIT)) / n if n else 0.0


def native_is_unsure(native_fg_logit: np.ndarray) -> bool:
    """Return True when the native pass's foreground is mostly unsure (noise specks, not particles)."""
    return sure_fraction(native_fg_logit) < UNSURE_NATIVE


def rescue_factor(native_fg_logit: np.ndarray, coarse_fg_logits: dict[int, np.ndarray]) -> int:
    """Return the downscale factor whose pass should replace an unsure native pass (1 = keep native).

    ``coarse_fg_logits`` maps each factor to the foreground logits of the frame shrunk by it. The
    most confident coarse pass (:func:`sure_fraction`) wins if it is sure enough
    (:data:`RESCUE_MIN_SURE`, :data:`RESCUE_GAIN` over native) and plausible: either the native pass
    saw noise specks (foreground >= :data:`RESCUE_MIN_NATIVE_FG` of the frame) or the coarse
    particles are compact (foreground <= :data:`RESCUE_MAX_COARSE_FG`). For frames of large or
    blurred particles drowned in pixel noise (oversampled in-situ video, low-dose TEM), whose native
    pass breaks each particle into specks.
    """
    native_sure = sure_fraction(native_fg_logit)
    native_fg = float(np.mean(native_fg_logit > 0))
    best_sure, best = max(native_sure + RESCUE_GAIN, RESCUE_MIN_SURE), 1
    for factor in sorted(coarse_fg_logits):
        logit = coarse_fg_logits[factor]
        compact = float(np.mean(logit > 0)) <= RESCUE_MAX_COARSE_FG
        sure = sure_fraction(logit)
        if (native_fg >= RESCUE_MIN_NATIVE_FG or compact) and sure > best_sure:
            best_sure, best = sure, factor
    return best


def rescue_factors(shape: tuple[int, int]) -> tuple[int, ...]:
    """Return the factors of :data:`RESCUE_FACTORS` that leave a frame of ``shape`` at least
    :data:`RESCUE_MIN_SIDE_PX` on its smaller side."""
    return tuple(f for f in RESCUE_FACTORS if min(shape) // f >= RESCUE_MIN_SIDE_PX)


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Return the image averaged over factor x factor blocks (trailing rows/columns dropped)."""
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = np.asarray(image[:h, :w], dtype=np.float32).reshape(
        h // factor, factor, w // factor, factor
    )
    return blocks.mean(axis=(1, 3))


def linear_taps(n_in: int, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (i0, i1, w) of linear interpolation from ``n_in`` coarse pixels to ``n_in * factor``
    fine ones, pixel centres aligned (fine centre x maps to coarse (x + 0.5) / factor - 0.5, clamped
    at the edges): fine = coarse[i0] * (1 - w) + coarse[i1] * w."""
    x = np.clip((np.arange(n_in * factor) + 0.5) / factor - 0.5, 0.0, n_in - 1)
    i0 = np.floor(x).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (x - i0).astype(np.float32)


def upsample_logits(logits: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """Return (C, H, W) logits bilinearly upsampled from a block_mean'ed frame's (C, h, w) logits.

    Pixel areas stay aligned (a coarse pixel covers factor x factor full pixels); rows/columns that
    block_mean dropped repeat the edge. Separable, equal to ``scipy.ndimage.zoom(logits, (1, f, f),
    order=1, mode="nearest", grid_mode=True)`` at a fraction of its cost.
    """
    arr = np.asarray(logits, dtype=np.float32)
    i0, i1, w = linear_taps(arr.shape[1], factor)
    rows = arr[:, i0] * (1 - w)[:, None] + arr[:, i1] * w[:, None]
    i0, i1, w = linear_taps(arr.shape[2], factor)
    up = rows[:, :, i0] * (1 - w) + rows[:, :, i1] * w
    h, w_out = shape
    up = up[:, :h, :w_out]
    return np.pad(up, ((0, 0), (0, h - up.shape[1]), (0, w_out - up.shape[2])), mode="edge")


def combine_scales(native: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Return (2, H, W) logits from the native pass and the upsampled downscaled pass of a frame.

    Foreground: the native logit near the coarse foreground (sharp boundaries); the larger of both
    where the coarse pass is sure (fills the interiors of large particles, which the native pass
    mistakes for texture); the smaller of both elsewhere (drops texture specks the coarse pass does
    not see). Core: the coarse pass's (one seed per large particle, not one per texture patch).
    """
    c0, n0 = coarse[0], native[0]
    fg = np.where(
        c0 > COARSE_SURE_LOGIT,
        np.maximum(n0, c0),
        np.where(c0 > COARSE_NEAR_LOGIT, n0, np.minimum(n0, c0)),
    )
    return np.stack([fg, coarse[1]]).astype(np.float32)
