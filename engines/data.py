"""Labelled frames for training and evaluation: the simulator and the real sets in shared/data.

Every loader returns :class:`Sample` objects (a float32 image and int32 instance labels, [row, col]).
Real sets are read in place, never copied. Which real images are held out of training is fixed by
``splits.json`` next to this module (a seeded split, see :func:`make_split`), so every run and every
report uses the same held-out images.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage as ndi

if TYPE_CHECKING:
    from nanolive.sim import SimConfig

log = logging.getLogger(__name__)

INSITU = "insitu-bftem-masks"
EMPS = "emps-instances"
STEM_BOXES = "stem-catalyst-boxes"
REAL_SETS: tuple[str, ...] = (INSITU, EMPS, STEM_BOXES)
#: Liquid-cell TEM video with per-frame masks (shared/data/tracking/SAM-EM): evaluation only, never
#: trained on.
LPTEM = "lptem-samem"

#: Doses (e/px) of the simulated hold-out: low, moderate, high.
SIM_EVAL_DOSES: tuple[float, ...] = (20.0, 100.0, 300.0, 1000.0)
MODERATE_DOSE_E_PER_PX = 100.0
#: Simulator seeds at or above this value are reserved for evaluation frames.
EVAL_SEED_OFFSET = 1_000_000


@dataclass(frozen=True)
class Sample:
    """One labelled frame: image float32 (H, W) (any scale), labels int32 (H, W) (0 = background).

    boxes: for box-only sets, (N, 4) float array of particle boxes (cx, cy, w, h) in px (x = column);
        then ``labels`` is all zero and only detection metrics apply.
    snr: for simulated frames, the ideal SNR of each true instance in sorted label order
        (``nanolive.sim.detectability.particle_snr``), else None.
    """

    name: str
    source: str
    image: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray | None = None
    snr: np.ndarray | None = None


def default_data_root() -> Path:
    """Return ../shared/data/authentic relative to the project checkout (or /work/shared/...)."""
    here = Path(__file__).resolve().parent.parent
    for cand in (
        here.parent / "shared" / "data" / "authentic",
        Path("/work/shared/data/authentic"),
    ):
        if cand.is_dir():
            return cand
    return here.parent / "shared" / "data" / "authentic"


def splits_path() -> Path:
    """Return the path of the committed held-out split (``engines/splits.json``)."""
    return Path(__file__).resolve().parent / "splits.json"


def make_split(ids: Sequence[str], test_fraction: float, seed: int) -> list[str]:
    """Return the sorted held-out ids: a seeded random ``test_fraction`` of ``ids`` (at least one)."""
    if not 0 < test_fraction <= 1:
        raise ValueError(f"test_fraction must be in (0, 1], not {test_fraction}")
    ordered = sorted(ids)
    rng = np.random.default_rng(seed)
    n_test = max(1, round(test_fraction * len(ordered)))
    pick = rng.choice(len(ordered), size=n_test, replace=False)
    return sorted(ordered[i] for i in pick)


def held_out_ids(dataset: str) -> set[str]:
    """Return the ids of ``dataset`` that are never used for training."""
    splits = json.loads(splits_path().read_text())
    if dataset not in splits:
        raise ValueError(f"no split for data set {dataset!r}; known: {sorted(splits)}")
    return set(splits[dataset]["test"])


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """Return a float32 grey image from a grey, RGB or RGBA uint8 array (alpha dropped)."""
    arr = np.asarray(rgb, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[..., :3].mean(axis=-1)
    return arr


def _read_image(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    return iio.imread(path)


def _check_dir(path: Path) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"data set folder not found: {path}")
    return path


def insitu_ids(root: Path) -> list[str]:
    """Return the image ids (``image_<k>``) of the in-situ BF-TEM set."""
    folder = _check_dir(root / INSITU / "images")
    return sorted(p.stem for p in folder.glob("image_*.png"))


def load_insitu(root: Path, ids: Sequence[str]) -> list[Sample]:
    """Return in-situ BF-TEM crops (dark particles) with instances = connected mask components."""
    out = []
    for name in ids:
        img = to_grey(_read_image(root / INSITU / "images" / f"{name}.png"))
        label_name = name.replace("image_", "label_")
        mask = to_grey(_read_image(root / INSITU / "labels" / f"{label_name}.png")) > 127
        labels, _ = ndi.label(mask)
        out.append(Sample(name, INSITU, img, labels.astype(np.int32)))
    return out


def emps_ids(root: Path) -> list[str]:
    """Return the image ids listed in the EMPS ``train.csv``."""
    with open(_check_dir(root / EMPS) / "train.csv", newline="") as fh:
        return [row[0].strip() for row in csv.reader(fh) if row and row[0].strip()]


def load_emps(root: Path, ids: Sequence[str]) -> list[Sample]:
    """Return EMPS TEM/SEM panels (grey) with their instance maps (relabelled 1..N, int32)."""
    out = []
    for name in ids:
        img = to_grey(_read_image(root / EMPS / "images" / f"{name}.png"))
        seg = np.asarray(_read_image(root / EMPS / "segmaps" / f"{name}.png"))
        if seg.ndim == 3:
            seg = seg[..., 0]
        _, inverse = np.unique(seg, return_inverse=True)
        labels = inverse.reshape(seg.shape).astype(np.int32)
        if seg.min() != 0:  # no background pixel: unique() gave the first id label 0
            labels += 1
        out.append(Sample(name, EMPS, img, labels))
    return out


def stem_ids(root: Path) -> list[str]:
    """Return the image names of the STEM catalyst box set."""
    folder = _check_dir(root / STEM_BOXES / "images")
    return sorted(p.stem for p in folder.glob("*.jpg"))


def load_stem_boxes(root: Path, ids: Sequence[str], downscale: int = 4) -> list[Sample]:
    """Return STEM catalyst images block-averaged by ``downscale`` with their boxes in px of that image.

    The originals are 2048 px wide with particles ~20-150 px across; ``downscale`` = 4 brings them to
    the particle sizes the model sees in training.
    """
    if downscale < 1:
        raise ValueError(f"downscale must be >= 1, not {downscale}")
    out = []
    for name in ids:
        img = to_grey(_read_image(root / STEM_BOXES / "images" / f"{name}.jpg"))
        h, w = (img.shape[0] // downscale) * downscale, (img.shape[1] // downscale) * downscale
        small = (
            img[:h, :w].reshape(h // downscale, downscale, w // downscale, downscale).mean((1, 3))
        )
        rows = np.loadtxt(root / STEM_BOXES / "labels" / f"{name}.txt", ndmin=2)
        boxes = rows[:, 1:5] * np.array([w, h, w, h]) / downscale
        out.append(
            Sample(
                name, STEM_BOXES, small.astype(np.float32), np.zeros(small.shape, np.int32), boxes
            )
        )
    return out


def load_lptem_video(root: Path) -> list[Sample]:
    """Return the 50 frames (1024 x 1024, one particle ~70 px across in heavy noise) of the SAM-EM
    liquid-cell TEM example with their ground-truth masks as labels; ``root`` is the
    shared/data/authentic folder (the video lies in its sibling tracking/SAM-EM)."""
    base = _check_dir(root.parent / "tracking" / "SAM-EM" / "data" / "example")
    seq = "dataset_1_5nm_layer"
    out = []
    for path in sorted((base / "jpeg_images" / seq).glob("*.jpg")):
        mask = np.asarray(_read_image(base / "annotations" / seq / f"{path.stem}.png"))
        fg = mask[..., :3].any(axis=-1) if mask.ndim == 3 else mask > 0
        labels, _ = ndi.label(fg)
        out.append(Sample(path.stem, LPTEM, to_grey(_read_image(path)), labels.astype(np.int32)))
    if not out:
        raise FileNotFoundError(f"no frames in {base / 'jpeg_images' / seq}")
    return out


def real_samples(root: Path, dataset: str, part: str) -> list[Sample]:
    """Return the ``part`` ("train" or "test") of one real data set, following ``splits.json``."""
    if part not in ("train", "test"):
        raise ValueError(f"part must be train or test, not {part!r}")
    listers = {INSITU: insitu_ids, EMPS: emps_ids, STEM_BOXES: stem_ids}
    loaders = {INSITU: load_insitu, EMPS: load_emps, STEM_BOXES: load_stem_boxes}
    if dataset not in listers:
        raise ValueError(f"unknown data set {dataset!r}; choose one of {', '.join(REAL_SETS)}")
    test = held_out_ids(dataset)
    ids = [i for i in listers[dataset](root) if (i in test) == (part == "test")]
    return loaders[dataset](root, ids)


# --- simulator ---------------------------------------------------------------------------------


#: Share of the simulator's defaults among the random training configs (the versions before
#: ``default_share`` existed).
DEFAULT_SHARE = 0.3


def random_sim_config(
    rng: np.random.Generator,
    shape: tuple[int, int] = (384, 384),
    grain_share: float = 0.0,
    default_share: float = DEFAULT_SHARE,
) -> SimConfig:
    """Return a SimConfig drawn over the range the model must cope with.

    With probability ``grain_share`` small particles on thick support grains in vacuum
    (:func:`grain_sim_config`); else with probability ``default_share`` the simulator's defaults
    (its calibrated particle sizes, signal and support) with a random contrast, arrangement and dose
    (10-2000 e/px); otherwise a wide draw: both contrasts, 10-2000
    e/px, particle radii ~2.5-20 px, coverage 3-35 %, every arrangement, fine support texture 2-20 %,
    slow undulation 0-0.6, contaminants, scan jitter, vacuum. With ``grain_share`` 0 the draws are
    those of the versions before it existed (the same random numbers are consumed). Training never
    uses the evaluation seeds (>= 1,000,000).
    """
    from nanolive.sim import SimConfig
    from nanolive.sim.config import ARRANGEMENTS

    if not 0 <= grain_share <= 1:
        raise ValueError(f"grain_share must be in [0, 1], not {grain_share}")
    if not 0 <= default_share <= 1:
        raise ValueError(f"default_share must be in [0, 1], not {default_share}")
    base = SimConfig(shape=shape)
    mode = str(rng.choice(["haadf", "bf"]))
    dose = float(math.exp(rng.uniform(math.log(10.0), math.log(2000.0))))
    arrangement = str(rng.choice(ARRANGEMENTS))
    if grain_share > 0 and rng.random() < grain_share:
        return grain_sim_config(rng, replace(base, mode=mode, dose_e_per_px=dose))
    if rng.random() < default_share:
        return replace(base, mode=mode, dose_e_per_px=dose, arrangement=arrangement)
    for _ in range(20):
        pixel_size_nm = float(math.exp(rng.uniform(math.log(0.12), math.log(0.6))))
        radius_px = float(math.exp(rng.uniform(math.log(2.5), math.log(20.0))))
        coverage = float(rng.uniform(0.03, 0.35))
        n = coverage * shape[0] * shape[1] / (math.pi * radius_px**2)
        try:
            return replace(
                base,
                mode=mode,
                dose_e_per_px=dose,
                pixel_size_nm=pixel_size_nm,
                radius_median_nm=radius_px * pixel_size_nm,
                radius_sigma=float(rng.uniform(0.05, 0.45)),
                radius_min_nm=min(0.3, 0.5 * radius_px * pixel_size_nm),
                n_particles=float(np.clip(n, 2, 500)),
                arrangement=arrangement,
                particle_signal_per_nm=float(rng.uniform(0.025, 0.08)),
                support_signal_fraction=float(rng.uniform(0.03, 0.3)),
                support_texture_rms=float(rng.uniform(0.02, 0.2)),
                support_undulation_rms=float(rng.uniform(0.0, 0.6)),
                contaminant_rate=float(rng.uniform(0.0, 0.5)),
                probe_fwhm_nm=float(rng.uniform(0.5, 2.0)) * pixel_size_nm,
                line_jitter_px=float(rng.uniform(0, 1.0)) if rng.random() < 0.3 else 0.0,
                support_coverage=float(rng.uniform(0.5, 1.0)) if rng.random() < 0.2 else 1.0,
            )
        except ValueError:
            continue
    return base


def grain_sim_config(rng: np.random.Generator, base: SimConfig) -> SimConfig:
    """Return ``base`` (its shape, contrast and dose kept) turned into small particles (radius
    ~1.8-6 px) on thick, lumpy support grains in vacuum, as supported catalysts (metal on alumina or
    silica) look: the support covers 25-70 % of the field, its thickness varies several-fold over
    30-120 px (ln-thickness RMS 0.6-1.1 in HAADF, 0.4-0.8 in BF), and it scatters as much as or more
    than the particles (support fraction 0.15-0.5 in HAADF, 0.03-0.1 in BF, where a thicker grain
    turns black), so a particle is a small local excess on a bright (HAADF) or dark (BF) grain and
    the grain itself is not a particle. A particle's centre adds 0.3-1.5x the mean support signal in
    HAADF (a few nm of Pd or Pt on tens of nm of alumina or silica) and dims the transmitted beam by
    18-53 % in BF, so every labelled particle is visible."""
    px = float(math.exp(rng.uniform(math.log(0.12), math.log(0.6))))
    radius_px = float(math.exp(rng.uniform(math.log(1.8), math.log(6.0))))
    coverage = float(rng.uniform(0.25, 0.7))
    on_support = float(rng.uniform(0.02, 0.2))
    n = on_support * coverage * base.shape[0] * base.shape[1] / (math.pi * radius_px**2)
    # BF: a grain transmits exp(-k f): thicker or lumpier, its dark parts hide every particle
    haadf = base.mode == "haadf"
    support = float(rng.uniform(0.15, 0.5) if haadf else rng.uniform(0.03, 0.1))
    undulation = float(rng.uniform(0.6, 1.1) if haadf else rng.uniform(0.4, 0.8))
    # the scattered fraction at a particle's centre: 0.3-1.5x the mean support signal (HAADF); in
    # BF 0.08-0.3, a 18-53 % dip of the transmitted intensity (scale 2.5)
    centre = support * float(rng.uniform(0.3, 1.5)) if haadf else float(rng.uniform(0.08, 0.3))
    signal_per_nm = float(np.clip(centre / (2 * radius_px * px), 0.02, 1.0))
    return replace(
        base,
        pixel_size_nm=px,
        radius_median_nm=radius_px * px,
        radius_sigma=float(rng.uniform(0.1, 0.4)),
        radius_min_nm=0.5 * radius_px * px,
        n_particles=float(np.clip(n, 2, 500)),
        arrangement=str(rng.choice(["random", "clustered"])),
        particle_signal_per_nm=signal_per_nm,
        support_signal_fraction=support,
        support_texture_rms=float(rng.uniform(0.02, 0.15)),
        support_undulation_rms=undulation,
        support_undulation_nm=float(rng.uniform(30.0, 120.0)) * px,
        support_coverage=coverage,
        contaminant_rate=0.0,
        probe_fwhm_nm=float(rng.uniform(0.5, 2.0)) * px,
    )


def simulator_digest() -> str:
    """Return a short hash of the simulator's source files (a cache made by another version is stale)."""
    import nanolive.sim

    h = hashlib.sha256()
    for path in sorted(Path(nanolive.sim.__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def load_sim_cache(path: Path) -> list[Sample]:
    """Return the frames of a cache file written by :func:`simulated_training_set`."""
    with np.load(path) as data:
        images, labels = data["images"], data["labels"]
    return [Sample(f"sim{i}", "sim", images[i], labels[i]) for i in range(len(images))]


def simulated_training_set(
    n_frames: int,
    seed: int,
    cache_dir: Path | None,
    shape: tuple[int, int] = (384, 384),
    grain_share: float = 0.0,
    default_share: float = DEFAULT_SHARE,
) -> list[Sample]:
    """Return ``n_frames`` simulated frames with random configs (:func:`random_sim_config`); cached
    as one .npz in ``cache_dir`` under a key of the arguments and the simulator's source."""
    from nanolive.sim import simulate_image
    from tqdm import tqdm

    grain = f"-grain{grain_share}" if grain_share else ""  # 0: the key of the older versions
    if default_share != DEFAULT_SHARE:
        grain += f"-default{default_share}"
    key = hashlib.sha256(
        f"{n_frames}-{seed}-{shape}-{simulator_digest()}{grain}".encode()
    ).hexdigest()[:12]
    cache = cache_dir / f"sim_train_{key}.npz" if cache_dir else None
    if cache is not None and cache.exists():
        return load_sim_cache(cache)
    rng = np.random.default_rng(seed)
    samples = []
    for i in tqdm(range(n_frames), desc="simulating", unit="frame"):
        frame = None
        while frame is None:
            config = random_sim_config(rng, shape, grain_share, default_share)
            try:
                frame = simulate_image(config, int(rng.integers(0, EVAL_SEED_OFFSET)))
            except (ValueError, IndexError, RuntimeError) as exc:  # simulator failed on a config
                log.warning("simulator failed on %r (%r); drawing another config", config, exc)
        samples.append(Sample(f"sim{i}", "sim", frame.image, frame.labels.astype(np.int32)))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            cache,
            images=np.stack([s.image for s in samples]),
            labels=np.stack([s.labels for s in samples]),
        )
    return samples


def eval_sim_config(dose_e_per_px: float, i: int) -> SimConfig:
    """Return the config of frame ``i`` of the simulated hold-out: the default SimConfig at the dose,
    alternating HAADF/BF and random/agglomerated arrangements."""
    from nanolive.sim import SimConfig

    return SimConfig(
        dose_e_per_px=float(dose_e_per_px),
        mode=("haadf", "bf")[i % 2],
        arrangement=("random", "agglomerated")[(i // 2) % 2],
    )


def eval_sim_seed(i: int, seed: int = 0) -> int:
    """Return the simulator seed of frame ``i`` of the hold-out (never drawn in training)."""
    return EVAL_SEED_OFFSET + seed * 1000 + i


def simulated_eval_set(dose_e_per_px: float, n_frames: int, seed: int = 0) -> list[Sample]:
    """Return the simulated hold-out at one dose: 512x512 frames of :func:`eval_sim_config`, with
    seeds reserved for evaluation (:func:`eval_sim_seed`) and each particle's ideal SNR."""
    from nanolive.sim import simulate_image
    from nanolive.sim.detectability import frame_snr

    out = []
    for i in range(n_frames):
        config = eval_sim_config(dose_e_per_px, i)
        frame = simulate_image(config, eval_sim_seed(i, seed))
        name = f"sim-{config.mode}-{config.arrangement}-dose{dose_e_per_px:g}-{i}"
        _, snr = frame_snr(frame, config)
        out.append(Sample(name, "sim", frame.image, frame.labels.astype(np.int32), snr=snr))
    return out
