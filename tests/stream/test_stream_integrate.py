"""Temporal frame integration: drift-aligned means per series, resets, and the pipeline's use."""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.engines.classical import ClassicalEngine
from nanolive.stream.config import config_from_mapping
from nanolive.stream.integrate import FrameIntegrator, IntegrationConfig
from nanolive.stream.pipeline import FrameInput, FrameProcessor
from nanolive.trackers import TrackerConfig
from scipy import ndimage as ndi


def scene(shape=(128, 128), seed=0) -> np.ndarray:
    """A smooth random scene (counts ~ 5..45), noise-free."""
    rng = np.random.default_rng(seed)
    field = ndi.gaussian_filter(rng.normal(size=(shape[0] + 64, shape[1] + 64)), 3)
    field = (field - field.min()) / np.ptp(field)
    return 5 + 40 * field


def drifting_frames(n: int, drift_xy=(1.5, -1.0), seed=1) -> tuple[list[np.ndarray], list]:
    """Return Poisson frames of one scene moving by ``drift_xy`` px per frame, and the truths."""
    rng = np.random.default_rng(seed)
    big = scene()
    frames, truths = [], []
    for i in range(n):
        dx, dy = drift_xy[0] * i, drift_xy[1] * i
        # content moves by +drift: the view's origin moves by -drift
        truth = ndi.shift(big, (dy, dx), order=1)[32:160, 32:160]
        truths.append(truth)
        frames.append(rng.poisson(truth).astype(np.float32))
    return frames, truths


def test_one_frame_is_the_frame_itself() -> None:
    frames, _ = drifting_frames(3)
    integ = FrameIntegrator(IntegrationConfig(frames=1))
    for f in frames:
        out = integ.add(f)
        assert out.n_frames == 1 and out.drift_xy == (0.0, 0.0)
        np.testing.assert_array_equal(out.image, f)


def test_mean_of_drifting_frames_is_aligned_and_less_noisy() -> None:
    frames, truths = drifting_frames(6)
    integ = FrameIntegrator(IntegrationConfig(frames=4, downsample=2))
    outs = [integ.add(f) for f in frames]
    assert [o.n_frames for o in outs] == [1, 2, 3, 4, 4, 4]
    for o in outs[1:]:
        assert o.drift_xy == pytest.approx((1.5, -1.0), abs=0.3)
    inner = np.s_[8:-8, 8:-8]  # away from the edges the shift fills with repeated pixels
    single = np.sqrt(np.mean((frames[-1][inner] - truths[-1][inner]) ** 2))
    mean4 = np.sqrt(np.mean((outs[-1].image[inner] - truths[-1][inner]) ** 2))
    # four frames: the noise falls by ~2 (a little less: interpolation and alignment error)
    assert mean4 < single / 1.6
    # without alignment the mean would blur the scene: the aligned one is much closer
    unaligned = np.mean(frames[-4:], axis=0)
    assert mean4 < 0.7 * np.sqrt(np.mean((unaligned[inner] - truths[-1][inner]) ** 2))


def test_shape_change_and_jumps_start_again() -> None:
    frames, _ = drifting_frames(3)
    integ = FrameIntegrator(IntegrationConfig(frames=3, max_drift_px=5.0))
    integ.add(frames[0])
    assert integ.add(frames[1]).n_frames == 2
    assert integ.add(frames[2][:100, :100]).n_frames == 1  # another shape
    far = np.roll(frames[2][:100, :100], (0, 30), axis=(0, 1))  # a 30 px jump of the scene
    assert integ.add(far).n_frames == 1
    with pytest.raises(ValueError, match="2-D"):
        integ.add(np.zeros((2, 3, 4)))


def test_config_is_validated_and_read_from_toml() -> None:
    for bad in ({"frames": 0}, {"downsample": 0}, {"max_drift_px": 0.0}):
        with pytest.raises(ValueError, match="integration"):
            IntegrationConfig(**bad)
    cfg = config_from_mapping({"integration": {"frames": 3}})
    assert cfg.integration == IntegrationConfig(frames=3)


def test_pipeline_integrates_each_series_on_its_own() -> None:
    frames, _ = drifting_frames(4)
    processor = FrameProcessor(ClassicalEngine(), TrackerConfig(), IntegrationConfig(frames=3))
    dark = np.zeros_like(frames[0])

    def inp(series: str, seq: int, image: np.ndarray) -> FrameInput:
        return FrameInput(series, seq, 0.1 * seq, image, pixel_size_nm=1.0, frame_interval_s=0.1)

    a = [processor.engine_input(inp("a", i, f)) for i, f in enumerate(frames[:3])]
    b = processor.engine_input(inp("b", 0, dark))
    # series b starts empty: nothing of series a leaks into it
    np.testing.assert_array_equal(b, dark)
    assert a[2].std() < frames[2].std()  # series a is averaged
    processor.finish_series("a")
    again = processor.engine_input(inp("a", 0, frames[3]))
    np.testing.assert_array_equal(again, frames[3])  # a closed series starts afresh
    # the whole stage: a batch of one series is segmented and measured on the raw frames
    results = processor.process_batch([inp("c", i, f) for i, f in enumerate(frames)])
    assert len(results) == 4 and all(r.series == "c" for r in results)


def test_shift_matches_scipy_linear_shift_with_nearest_edges() -> None:
    from nanolive.stream.integrate import shifted_px

    image = np.random.default_rng(2).normal(size=(30, 40)).astype(np.float32)
    for dx, dy in ((2.0, -1.0), (1.3, -2.7), (-0.4, 0.25), (0.0, 3.5), (-7.9, 0.0)):
        want = ndi.shift(image, (dy, dx), order=1, mode="nearest")
        np.testing.assert_allclose(shifted_px(image, dx, dy), want, atol=1e-5)
    assert shifted_px(image, 0.0, 0.0) is image


def test_a_failing_integration_falls_back_to_the_frame_alone(monkeypatch) -> None:
    frames, _ = drifting_frames(3)
    processor = FrameProcessor(ClassicalEngine(), TrackerConfig(), IntegrationConfig(frames=2))
    inputs = [FrameInput("s", i, 0.1 * i, f, pixel_size_nm=1.0) for i, f in enumerate(frames)]
    processor.engine_input(inputs[0])

    def broken(*args, **kwargs):
        raise RuntimeError("phase correlation exploded")

    monkeypatch.setattr("nanolive.stream.integrate.phase_drift", broken)
    np.testing.assert_array_equal(processor.engine_input(inputs[1]), frames[1])
    results = processor.process_batch(inputs[2:])
    assert len(results) == 1 and results[0].seq == 2  # processed, not lost
