"""The simulated training draw: the grain family is visible, labelled only on the support, and
absent unless asked for."""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.engines.data import grain_sim_config, random_sim_config
from nanolive.sim import SimConfig, simulate_image
from scipy import ndimage as ndi


def test_grain_share_zero_keeps_the_wide_draw() -> None:
    """Share 0: no grain configs (full support in most draws); share 1: always grains."""
    plain = [random_sim_config(np.random.default_rng(s), (384, 384)) for s in range(40)]
    grains = [random_sim_config(np.random.default_rng(s), (384, 384), 1.0) for s in range(40)]
    assert sum(c.support_coverage < 1 for c in plain) < 20
    assert all(0.25 <= c.support_coverage <= 0.7 for c in grains)
    assert all(c.support_undulation_rms >= 0.4 for c in grains)
    # the same seed with share 0 draws the same config whatever else the module offers
    again = [random_sim_config(np.random.default_rng(s), (384, 384), 0.0) for s in range(40)]
    assert again == plain
    with pytest.raises(ValueError, match="grain_share"):
        random_sim_config(np.random.default_rng(0), (384, 384), 1.5)


def test_default_share_sets_how_often_the_simulator_defaults_are_drawn() -> None:
    """The simulator's calibrated defaults (0.25 nm/px, median radius 1.2 nm) come at the given
    share; the default share keeps the draws of the versions before the parameter existed."""
    from nanolive.sim import SimConfig

    def is_default(c: SimConfig) -> bool:
        base = SimConfig()
        return c.pixel_size_nm == base.pixel_size_nm and c.radius_median_nm == base.radius_median_nm

    rng = np.random.default_rng(3)
    share = {f: np.mean([is_default(random_sim_config(rng, default_share=f)) for _ in range(400)])
             for f in (0.0, 0.3, 0.6, 1.0)}  # fmt: skip
    assert share[0.0] == 0.0 and share[1.0] == 1.0
    assert 0.22 < share[0.3] < 0.38 and 0.52 < share[0.6] < 0.68
    old = [random_sim_config(np.random.default_rng(s)) for s in range(30)]
    assert old == [
        random_sim_config(np.random.default_rng(s), default_share=0.3) for s in range(30)
    ]
    with pytest.raises(ValueError, match="default_share"):
        random_sim_config(np.random.default_rng(0), default_share=-0.1)


@pytest.mark.parametrize("mode", ["haadf", "bf"])
def test_grain_particles_stand_out_from_their_grain(mode: str) -> None:
    """Each labelled particle differs from the grain around it (brighter in HAADF, darker in BF),
    and particles lie on the support, not in vacuum."""
    rng = np.random.default_rng(3)
    base = SimConfig(shape=(256, 256), mode=mode, dose_e_per_px=2000.0)
    checked = 0
    for seed in range(4):
        cfg = grain_sim_config(rng, base)
        frame = simulate_image(cfg, 10 + seed)
        labels, image = frame.labels, frame.image.astype(np.float64)
        ids = np.unique(labels)[1:]
        if ids.size == 0:
            continue
        inside = ndi.mean(image, labels, ids)
        ring_labels = ndi.grey_dilation(labels, size=7) * (labels == 0)
        with np.errstate(invalid="ignore"):  # a particle hemmed in by others has no ring
            ring = ndi.mean(image, ring_labels, ids)
        found = np.isfinite(ring)
        sign = 1.0 if mode == "haadf" else -1.0
        assert np.mean(sign * (inside[found] - ring[found]) > 0) >= 0.9
        vacuum = image < np.percentile(image, 5) if mode == "haadf" else None
        if vacuum is not None:
            assert np.mean(labels[vacuum] > 0) < 0.05
        checked += 1
    assert checked >= 3


def test_lptem_video_loads_one_labelled_particle_per_frame() -> None:
    from nanolive.engines.data import default_data_root, load_lptem_video

    root = default_data_root()
    if not (root.parent / "tracking" / "SAM-EM").is_dir():
        pytest.skip("shared tracking data not present")
    frames = load_lptem_video(root)
    assert len(frames) == 50
    for f in frames[::10]:
        assert f.image.shape == f.labels.shape == (1024, 1024)
        assert f.labels.max() == 1 and 3000 < np.count_nonzero(f.labels) < 4000


def test_simulated_hold_out_carries_each_particles_snr_into_the_scores() -> None:
    """The hold-out frames carry one ideal SNR per true instance (sorted label order), so
    evaluation reports recall on the particles an ideal detector could see."""
    from nanolive.engines.base import EngineConfig
    from nanolive.engines.data import simulated_eval_set
    from nanolive.engines.evaluate import evaluate_samples, format_visibility_table
    from nanolive.engines.registry import create_engine

    low, high = simulated_eval_set(10.0, 1), simulated_eval_set(1000.0, 1)
    for s in (*low, *high):
        assert s.snr is not None and s.snr.shape == (np.unique(s.labels).size - 1,)
    # the same scene at both doses: only the noise differs
    np.testing.assert_array_equal(low[0].labels, high[0].labels)
    assert np.nanmedian(high[0].snr) == pytest.approx(10 * np.nanmedian(low[0].snr), rel=0.1)
    engine = create_engine(EngineConfig(name="classical"))
    results = [evaluate_samples(engine, "classical", n, s) for n, s in (("lo", low), ("hi", high))]
    assert results[0].metrics["visible_share"] < 0.5 < results[1].metrics["visible_share"]
    table = format_visibility_table(results)
    assert table.count("| classical |") == 2 and "Rose-visible share" in table


def test_simulated_samples_group_by_kind() -> None:
    from nanolive.engines.data import Sample
    from nanolive.engines.evaluate import samples_by_kind

    def sample(name: str) -> Sample:
        return Sample(name, "sim", np.zeros((2, 2)), np.zeros((2, 2), np.int32))

    names = ["sim-haadf-random-dose100-0", "sim-bf-random-dose100-1", "sim-haadf-random-dose100-4"]
    groups = samples_by_kind("sim-dose100", [sample(n) for n in names])
    assert list(groups) == ["sim-dose100-bf-random", "sim-dose100-haadf-random"]
    assert [s.name for s in groups["sim-dose100-haadf-random"]] == [names[0], names[2]]
    with pytest.raises(ValueError, match="not a simulated"):
        samples_by_kind("x", [sample("image_14")])
