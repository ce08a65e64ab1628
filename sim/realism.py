"""Realism check: the same scale-free statistics measured on real HAADF-STEM / BF-TEM images with
YOLO box labels and on simulated frames, side by side.

Real images have no pixel size, so every statistic is scale-free or measured after resampling:
each real image is block-averaged by an integer factor so that its median particle box matches the
simulator's median box (in px), and all statistics are computed on that resampled image.

Statistics per image (``ImageStats``):
- box_size_fraction: median box size sqrt(w h) / image width (dimensionless).
- box_size_log_sigma: standard deviation of ln(box size) (size dispersity).
- crowding: number of boxes x (median box size / image width)^2 (dimensionless areal crowding).
- cnr: median over particles of (I_particle - I_background) / std(background), where I_particle is
  the median inside the inner half of the box and the background is the ring 0.75..1.25 box sizes
  from the centre (contrast-to-noise ratio; sign: + bright, - dark particles).
- contrast_range: median over particles of (I_particle - I_background) / (p99.5 - p0.5 of the image).
- skewness: skewness of the intensity histogram.
- hf_power_fraction: fraction of the power within |k| <= 0.5 cycles/px that lies at 0.35..0.5
  cycles/px (white-noise content: 0.51 for white noise, near 0 for smooth images).
- psd_slope: slope of log power vs log frequency between 0.02 and 0.2 cycles/px.

Run ``python -m nanolive.sim.realism --data DIR --figure PNG`` to print the comparison tables
(Markdown) and write the figure.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy import ndimage

from .config import SimConfig
from .simulate import simulate_image

#: Frequency bands (cycles/px) of the high-frequency fraction and of the spectral slope fit.
HF_BAND = (0.35, 0.5)
SLOPE_BAND = (0.02, 0.2)
PSD_SIZE = 512


@dataclass(frozen=True)
class ImageStats:
    """Scale-free statistics of one image (see the module docstring for definitions)."""

    name: str
    n_boxes: int
    box_size_fraction: float
    box_size_log_sigma: float
    crowding: float
    cnr: float
    contrast_range: float
    skewness: float
    hf_power_fraction: float
    psd_slope: float


@dataclass(frozen=True)
class Boxes:
    """Axis-aligned particle boxes in px: centres (cx, cy) and sizes (w, h)."""

    cx: np.ndarray
    cy: np.ndarray
    w: np.ndarray
    h: np.ndarray

    def scaled(self, factor: float) -> Boxes:
        """Return the boxes with every coordinate divided by ``factor``."""
        return Boxes(self.cx / factor, self.cy / factor, self.w / factor, self.h / factor)

    def sizes(self) -> np.ndarray:
        """Return sqrt(w h) of every box (px)."""
        return np.sqrt(self.w * self.h)


def read_yolo_boxes(path: Path, shape: tuple[int, int]) -> Boxes:
    """Return the boxes of a YOLO label file (``cls cx cy w h`` normalised) in px of ``shape``."""
    rows, cols = shape
    data = np.loadtxt(path, ndmin=2)
    return Boxes(data[:, 1] * cols, data[:, 2] * rows, data[:, 3] * cols, data[:, 4] * rows)


def read_grey(path: Path) -> np.ndarray:
    """Return an image file as float64 grey levels (mean over colour channels)."""
    import imageio.v3 as iio

    image = np.asarray(iio.imread(path), dtype=np.float64)
    return image[..., :3].mean(axis=-1) if image.ndim == 3 else image


def label_boxes(labels: np.ndarray) -> Boxes:
    """Return the bounding boxes of the instances of a label image (px)."""
    slices = [s for s in ndimage.find_objects(labels) if s is not None]
    cy = np.array([(s[0].start + s[0].stop - 1) / 2 for s in slices])
    cx = np.array([(s[1].start + s[1].stop - 1) / 2 for s in slices])
    h = np.array([s[0].stop - s[0].start for s in slices], dtype=float)
    w = np.array([s[1].stop - s[1].start for s in slices], dtype=float)
    return Boxes(cx, cy, w, h)


def block_average(image: np.ndarray, factor: int) -> np.ndarray:
    """Return ``image`` averaged over factor x factor blocks (edges cropped)."""
    if factor <= 1:
        return image
    rows = image.shape[0] // factor * factor
    cols = image.shape[1] // factor * factor
    blocks = image[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor)
    return blocks.mean(axis=(1, 3))


def radial_power_spectrum(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (frequency cycles/px, radially averaged power) of the central square crop, normalised
    so that the power sums to the variance of the crop (Hann-windowed)."""
    n = min(PSD_SIZE, *image.shape)
    r0 = (image.shape[0] - n) // 2
    c0 = (image.shape[1] - n) // 2
    crop = image[r0 : r0 + n, c0 : c0 + n].astype(np.float64)
    crop = (crop - crop.mean()) / max(crop.std(), 1e-12)
    window = np.outer(np.hanning(n), np.hanning(n))
    power = np.abs(np.fft.fftshift(np.fft.fft2(crop * window))) ** 2
    k = np.fft.fftshift(np.fft.fftfreq(n))
    radius = np.hypot(k[:, None], k[None, :])
    bins = np.linspace(0, 0.5, n // 2 + 1)
    which = np.digitize(radius.ravel(), bins) - 1
    ok = (which >= 0) & (which < bins.size - 1)
    sums = np.bincount(which[ok], weights=power.ravel()[ok], minlength=bins.size - 1)
    counts = np.bincount(which[ok], minlength=bins.size - 1)
    centres = (bins[:-1] + bins[1:]) / 2
    radial = sums / np.maximum(counts, 1)
    return centres, radial


def spectrum_stats(image: np.ndarray) -> tuple[float, float]:
    """Return (share of the power within 0.5 cycles/px found at 0.35..0.5 cycles/px, log-log slope
    of the radial power at 0.02..0.2 cycles/px)."""
    k, p = radial_power_spectrum(image)
    ring = 2 * math.pi * k  # power per frequency shell ~ density x circumference
    total = np.sum(p * ring)
    hf = (k >= HF_BAND[0]) & (k <= HF_BAND[1])
    band = (k >= SLOPE_BAND[0]) & (k <= SLOPE_BAND[1]) & (p > 0)
    slope = float(np.polyfit(np.log(k[band]), np.log(p[band]), 1)[0])
    return float(np.sum(p[hf] * ring[hf]) / total), slope


def particle_contrast(image: np.ndarray, boxes: Boxes) -> tuple[float, float]:
    """Return the median CNR and median contrast / dynamic range over the boxes (see module doc)."""
    rows, cols = image.shape
    lo, hi = np.percentile(image, [0.5, 99.5])
    yy, xx = np.ogrid[:rows, :cols]
    cnr, rel = [], []
    for cx, cy, w, h in zip(boxes.cx, boxes.cy, boxes.w, boxes.h, strict=True):
        size = math.sqrt(w * h)
        reach = int(math.ceil(1.3 * size)) + 1
        r0, r1 = max(0, int(cy) - reach), min(rows, int(cy) + reach + 1)
        c0, c1 = max(0, int(cx) - reach), min(cols, int(cx) + reach + 1)
        d = np.hypot(yy[r0:r1] - cy, xx[:, c0:c1] - cx)
        win = image[r0:r1, c0:c1]
        inner = win[d <= 0.25 * size]
        ring = win[(d >= 0.75 * size) & (d <= 1.25 * size)]
        if inner.size < 3 or ring.size < 10:
            continue
        diff = float(np.median(inner) - np.median(ring))
        cnr.append(diff / max(float(ring.std()), 1e-9))
        rel.append(diff / max(hi - lo, 1e-9))
    if not cnr:
        return float("nan"), float("nan")
    return float(np.median(cnr)), float(np.median(rel))


def image_stats(name: str, image: np.ndarray, boxes: Boxes) -> ImageStats:
    """Return the statistics of one image with its particle boxes (px of ``image``)."""
    sizes = boxes.sizes()
    sizes = sizes[sizes > 0]
    width = image.shape[1]
    flat = image.ravel()
    z = (flat - flat.mean()) / max(flat.std(), 1e-12)
    hf, slope = spectrum_stats(image)
    cnr, rel = particle_contrast(image, boxes)
    median = float(np.median(sizes))
    return ImageStats(
        name=name,
        n_boxes=int(sizes.size),
        box_size_fraction=median / width,
        box_size_log_sigma=float(np.std(np.log(sizes))),
        crowding=float(sizes.size * (median / width) ** 2),
        cnr=cnr,
        contrast_range=rel,
        skewness=float(np.mean(z**3)),
        hf_power_fraction=hf,
        psd_slope=slope,
    )


def real_image_stats(folder: Path, target_box_px: float) -> list[tuple[ImageStats, np.ndarray]]:
    """Return stats and the resampled image of every real image in ``folder`` (images/, labels/),
    block-averaged so that the median box is about ``target_box_px``."""
    out = []
    for path in sorted((folder / "images").glob("*.jpg")):
        image = read_grey(path)
        boxes = read_yolo_boxes(folder / "labels" / f"{path.stem}.txt", image.shape)
        factor = max(1, int(round(float(np.median(boxes.sizes())) / target_box_px)))
        small = block_average(image, factor)
        out.append((image_stats(path.stem, small, boxes.scaled(factor)), small))
    return out


def simulated_stats(
    name: str, config: SimConfig, seeds: Sequence[int]
) -> list[tuple[ImageStats, np.ndarray]]:
    """Return stats and image of simulated frames (boxes = bounding boxes of the true labels)."""
    out = []
    for seed in seeds:
        frame = simulate_image(config, seed)
        out.append(
            (image_stats(f"{name}#{seed}", frame.image, label_boxes(frame.labels)), frame.image)
        )
    return out


def variants() -> dict[str, SimConfig]:
    """Return the simulator settings compared with the real images."""
    base = SimConfig()
    return {
        "sim default (HAADF)": base,
        "sim low dose 20 e/px": replace(base, dose_e_per_px=20.0),
        "sim low dose 100 e/px": replace(base, dose_e_per_px=100.0),
        "sim high dose 1000 e/px": replace(base, dose_e_per_px=1000.0),
        "sim rough fine texture (rms 0.15)": replace(base, support_texture_rms=0.15),
        "sim thick support": replace(
            base, support_undulation_rms=0.6, support_texture_rms=0.3, support_signal_fraction=0.25
        ),
        "sim agglomerated": replace(base, arrangement="agglomerated"),
        "sim support with vacuum (coverage 0.6)": replace(base, support_coverage=0.6),
        "sim bright field": replace(base, mode="bf"),
        "sim bright field 100 e/px": replace(base, mode="bf", dose_e_per_px=100.0),
    }


STAT_COLUMNS = (
    "box_size_fraction",
    "box_size_log_sigma",
    "crowding",
    "cnr",
    "contrast_range",
    "skewness",
    "hf_power_fraction",
    "psd_slope",
)


def markdown_table(rows: list[ImageStats]) -> str:
    """Return a Markdown table of ``rows``."""
    head = "| image | boxes | " + " | ".join(STAT_COLUMNS) + " |"
    rule = "|---|---:|" + "---:|" * len(STAT_COLUMNS)
    lines = [head, rule]
    for r in rows:
        d = asdict(r)
        cells = " | ".join(f"{d[c]:.3g}" for c in STAT_COLUMNS)
        lines.append(f"| {r.name} | {r.n_boxes} | {cells} |")
    return "\n".join(lines)


def summary_table(groups: dict[str, list[ImageStats]]) -> str:
    """Return a Markdown table of the min..max range of every statistic per group."""
    head = "| group | n | " + " | ".join(STAT_COLUMNS) + " |"
    rule = "|---|---:|" + "---:|" * len(STAT_COLUMNS)
    lines = [head, rule]
    for name, rows in groups.items():
        cells = []
        for c in STAT_COLUMNS:
            v = np.array([asdict(r)[c] for r in rows], dtype=float)
            cells.append(f"{np.nanmin(v):.3g}..{np.nanmax(v):.3g}")
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_figure(
    real: list[tuple[ImageStats, np.ndarray]],
    sims: dict[str, list[tuple[ImageStats, np.ndarray]]],
    bright_field: set[str],
    path: Path,
) -> None:
    """Write the comparison figure (histograms, spectra, CNR, box sizes) to ``path`` and example
    crops to ``<stem>_examples.png`` beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(16, 9))
    grid = fig.add_gridspec(2, 4)
    ax_h = fig.add_subplot(grid[0, :2])
    ax_p = fig.add_subplot(grid[0, 2:])
    ax_c = fig.add_subplot(grid[1, :2])
    ax_s = fig.add_subplot(grid[1, 2:])
    colours = plt.cm.tab10(np.linspace(0, 1, 10))
    bins = np.linspace(-0.1, 1.1, 61)

    def norm(img: np.ndarray) -> np.ndarray:
        lo, hi = np.percentile(img, [0.5, 99.5])
        return (img - lo) / max(hi - lo, 1e-12)

    for stats, img in real:
        style = ":" if stats.name in bright_field else "-"
        ax_h.hist(norm(img).ravel(), bins, density=True, histtype="step", color="0.5", ls=style)
        k, p = radial_power_spectrum(img)
        ax_p.loglog(k[1:], p[1:], color="0.5", ls=style, lw=1)
    for i, (name, items) in enumerate(sims.items()):
        stats, img = items[0]
        ax_h.hist(
            norm(img).ravel(), bins, density=True, histtype="step", color=colours[i], label=name
        )
        k, p = radial_power_spectrum(img)
        ax_p.loglog(k[1:], p[1:], color=colours[i], lw=1.5, label=name)
    ax_h.set(xlabel="intensity, (I - p0.5) / (p99.5 - p0.5)", ylabel="density", yscale="log")
    ax_h.set_title("intensity histograms (grey: real; dotted: real BF-TEM)")
    ax_h.legend(fontsize=7)
    ax_p.set(xlabel="spatial frequency (cycles/px)", ylabel="power (normalised)")
    ax_p.set_title("radially averaged power spectra (after size matching)")

    names = [s.name for s, _ in real] + list(sims)
    cnr_values = [[s.cnr] for s, _ in real] + [[s.cnr for s, _ in v] for v in sims.values()]
    size_values = [[s.box_size_fraction] for s, _ in real] + [
        [s.box_size_fraction for s, _ in v] for v in sims.values()
    ]
    ypos = np.arange(len(names))
    for y, values in zip(ypos, cnr_values, strict=True):
        ax_c.plot(values, [y] * len(values), "o", color="k" if y < len(real) else "C1")
    ax_c.set_yticks(ypos, names, fontsize=7)
    ax_c.axvline(0, color="0.8")
    ax_c.set(xlabel="median particle CNR, (I_p - I_bg) / std_bg")
    for y, values in zip(ypos, size_values, strict=True):
        ax_s.plot(values, [y] * len(values), "o", color="k" if y < len(real) else "C1")
    ax_s.set_yticks(ypos, names, fontsize=7)
    ax_s.set(xlabel="median box size / image width", xscale="log")

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)

    by_name = {stats.name: (stats, img) for stats, img in real}
    picks = [by_name.get("PtC3", real[0]), by_name.get("PtC2", real[-1])]
    examples = [*picks, sims["sim default (HAADF)"][0], sims["sim bright field"][0]]
    fig, axes = plt.subplots(1, len(examples), figsize=(4.2 * len(examples), 4.6))
    for ax, (stats, img) in zip(axes, examples, strict=True):
        n = min(256, *img.shape)
        ax.imshow(img[:n, :n], cmap="gray")
        ax.set_title(f"{stats.name} (256 px crop, size-matched)", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path.with_name(f"{path.stem}_examples{path.suffix}"), dpi=80)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Compute the comparison, print the Markdown tables, write the figure."""
    parser = argparse.ArgumentParser(description="Compare simulated frames with real images.")
    parser.add_argument("--data", type=Path, required=True, help="stem-catalyst-boxes folder")
    parser.add_argument("--figure", type=Path, required=True, help="output PNG")
    parser.add_argument("--seeds", type=int, default=3, help="simulated frames per variant")
    args = parser.parse_args(argv)
    sims = {
        name: simulated_stats(name, config, range(args.seeds))
        for name, config in variants().items()
    }
    target = float(np.median([s.box_size_fraction for s, _ in sims["sim default (HAADF)"]]))
    target_px = target * SimConfig().shape[1]
    real = real_image_stats(args.data, target_px)
    bright_field = {"PtC2", "Pt_carbon1", "Pt_carbon2"}
    save_figure(real, sims, bright_field, args.figure)
    print(f"target median box size: {target_px:.1f} px\n")
    print(markdown_table([s for s, _ in real]))
    print()
    groups = {
        "real HAADF": [s for s, _ in real if s.name not in bright_field],
        "real BF-TEM": [s for s, _ in real if s.name in bright_field],
    }
    groups.update({name: [s for s, _ in items] for name, items in sims.items()})
    print(summary_table(groups))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
