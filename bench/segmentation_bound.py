"""A yardstick for simulated segmentation accuracy: the Dice a pixel-threshold observer reaches when it
is *given* the smooth support background and the best threshold (prints a markdown table).

Run: ``.venv/bin/python -m nanolive.bench.segmentation_bound [--frames 4] [--doses 100 300 1000 inf]``.

For each frame of the engines' simulated hold-out (``engines.data.eval_sim_config`` and its seeds,
without contaminants) the simulator is run three times with one seed:
as is (noisy), noise-free (dose 1e9 rescaled) and noise-free without particle signal. The observer
sees ``noisy - gaussian(support_only, 8 px)`` (sign flipped for bright-field), smoothed by a Gaussian
of sigma 0, 0.7, 1 or 1.5 px, thresholded at a fraction of the particles' 99th-percentile signal; the
best (sigma, threshold) is picked *per dose with the truth in hand*. Nothing here is trained or tuned
for the engines: it shows how far the fine support texture and the shot noise alone blur the true
particle edges (~10 px particles) before any model is involved. It is not a strict bound: a model with
shape priors can do better than a pixel threshold.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace

import numpy as np
from nanolive.engines.data import eval_sim_config, eval_sim_seed
from nanolive.sim import SimConfig, simulate_image
from scipy import ndimage as ndi

SMOOTHING_PX: tuple[float, ...] = (0.0, 0.7, 1.0, 1.5)
THRESHOLDS: np.ndarray = np.linspace(0.02, 0.6, 30)
NOISE_FREE_DOSE = 1e9


def observer_inputs(config: SimConfig, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (observer image, true mask, particle signal scale) of one frame, in counts of ``config``.

    The observer image is the frame minus the smoothed noise-free support (particles positive in both
    contrasts); the scale is the 99th percentile of the noise-free particle signal inside the mask.
    """
    clean_cfg = replace(config, dose_e_per_px=NOISE_FREE_DOSE)
    noisy = simulate_image(config, seed).image
    clean = simulate_image(clean_cfg, seed)
    support = simulate_image(replace(clean_cfg, particle_signal_per_nm=1e-12), seed).image
    scale = config.dose_e_per_px / NOISE_FREE_DOSE
    sign = -1.0 if config.mode == "bf" else 1.0
    observed = sign * (noisy - ndi.gaussian_filter(support * scale, 8.0))
    mask = clean.labels > 0
    particle = sign * (clean.image - support) * scale
    return observed, mask, float(np.percentile(particle[mask], 99))


def best_dice(frames: list[tuple[np.ndarray, np.ndarray, float]]) -> tuple[float, float, float]:
    """Return (Dice pooled over frames, sigma px, threshold fraction) of the best observer setting."""
    best = (0.0, 0.0, 0.0)
    for sigma in SMOOTHING_PX:
        smoothed = [(ndi.gaussian_filter(o, sigma) if sigma else o, m, s) for o, m, s in frames]
        for t in THRESHOLDS:
            inter = total = 0
            for obs, mask, scale in smoothed:
                pred = obs > t * scale
                inter += int(np.count_nonzero(pred & mask))
                total += int(np.count_nonzero(pred)) + int(np.count_nonzero(mask))
            dice = 2 * inter / total if total else 0.0
            if dice > best[0]:
                best = (dice, sigma, float(t))
    return best


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=4, help="frames per dose")
    p.add_argument(
        "--doses",
        nargs="+",
        default=["20", "100", "300", "1000", "inf"],
        help="e/px; inf = noise-free",
    )
    args = p.parse_args(argv)
    print("| dose (e/px) | observer Dice | smoothing sigma (px) | threshold (x particle p99) |")
    print("|---|---|---|---|")
    for text in args.doses:
        dose = float(text) if math.isfinite(float(text)) else NOISE_FREE_DOSE
        frames = [
            observer_inputs(
                replace(eval_sim_config(dose, i), contaminant_rate=0.0), eval_sim_seed(i)
            )
            for i in range(args.frames)
        ]
        dice, sigma, t = best_dice(frames)
        print(f"| {text} | {dice:.3f} | {sigma:g} | {t:.2f} |", flush=True)


if __name__ == "__main__":
    main()
