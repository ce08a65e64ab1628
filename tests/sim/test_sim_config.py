"""Bad parameters get a clear ValueError; masks have the requested fraction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from nanolive.sim import SimConfig, sampling_mask, simulate_image


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dose_e_per_px": -1.0}, "dose_e_per_px"),
        ({"dose_e_per_px": 0.0}, "dose_e_per_px"),
        ({"n_particles": 5000.0}, "impossible density"),
        ({"radius_median_nm": 0.0}, "radius_median_nm"),
        ({"pixel_size_nm": 0.0}, "pixel_size_nm"),
        ({"mode": "sem"}, "mode"),
        ({"arrangement": "grid"}, "arrangement"),
        ({"sparse_fraction": 0.0}, "sparse_fraction"),
        ({"sparse_kind": "spiral"}, "sparse_kind"),
        ({"merge_probability": 1.5}, "merge_probability"),
        ({"shape_weights": (("cube", 1.0),)}, "unknown shapes"),
        ({"shape_weights": (("sphere", 0.0),)}, "not all 0"),
        ({"shape": (4, 512)}, "shape"),
        ({"overlap_max": 1.0}, "overlap_max"),
    ],
)
def test_bad_parameters_raise_clear_errors(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(SimConfig(), **change)


def test_defaults_are_valid_and_cheap_to_vary() -> None:
    config = SimConfig()
    assert config.shape == (512, 512)
    assert replace(config, mode="bf").mode == "bf"


@pytest.mark.parametrize("kind", ["uniform", "line-hop"])
@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.25, 0.37, 1.0])
def test_masks_have_the_requested_fraction(kind: str, fraction: float) -> None:
    mask = sampling_mask((96, 130), fraction, kind, np.random.default_rng(0))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    assert mask.sum() == round(fraction * 96 * 130)


def test_line_hop_samples_every_column_in_every_band() -> None:
    mask = sampling_mask((100, 64), 0.1, "line-hop", np.random.default_rng(1))
    per_band = mask.reshape(10, 10, 64).sum(axis=1)
    assert per_band.min() >= 1 and per_band.max() == 1


def test_mask_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="kind"):
        sampling_mask((8, 8), 0.5, "spiral", np.random.default_rng(0))
    with pytest.raises(ValueError, match="fraction"):
        sampling_mask((8, 8), 1.5, "uniform", np.random.default_rng(0))


def test_sparse_frames_carry_a_mask() -> None:
    config = SimConfig(shape=(64, 64), n_particles=5.0, sparse_fraction=0.2, sparse_kind="line-hop")
    frame = simulate_image(config, seed=0)
    assert frame.mask is not None and frame.mask.sum() == round(0.2 * 64 * 64)
    assert simulate_image(replace(config, sparse_fraction=1.0), seed=0).mask is None
