"""The segmentation yardstick: the observer is exact without texture and noise, and degrades with both."""

from __future__ import annotations

from nanolive.bench.segmentation_bound import best_dice, observer_inputs
from nanolive.sim import SimConfig


def small_config(**kw) -> SimConfig:
    return SimConfig(shape=(160, 160), n_particles=20, contaminant_rate=0.0, **kw)


def test_observer_recovers_clean_particles_and_loses_edges_to_noise() -> None:
    clean = small_config(dose_e_per_px=1e8, support_texture_rms=0.0, support_undulation_rms=0.0)
    noisy = small_config(dose_e_per_px=20.0)
    dice_clean, _, _ = best_dice([observer_inputs(clean, 5), observer_inputs(clean, 6)])
    dice_noisy, _, _ = best_dice([observer_inputs(noisy, 5), observer_inputs(noisy, 6)])
    assert dice_clean > 0.95
    assert dice_noisy < dice_clean - 0.1


def test_bright_field_particles_are_positive_for_the_observer() -> None:
    observed, mask, scale = observer_inputs(small_config(mode="bf", dose_e_per_px=1e8), 3)
    assert scale > 0
    assert observed[mask].mean() > observed[~mask].mean()
