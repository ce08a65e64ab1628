"""The per-frame core on its own: order, one tracker per series, failures isolated, sparse fill."""

from __future__ import annotations

import numpy as np
from nanolive.engines.classical import ClassicalEngine
from nanolive.stream.pipeline import (
    FrameFailure,
    FrameInput,
    FrameProcessor,
    FrameResult,
    batches_of_same_shape,
    fill_unsampled,
    process_frames,
)
from nanolive.trackers import TrackerConfig
from stream_kit import FlakyEngine, disks_image


def frame(series: str, seq: int, centre_col: int, shape=(40, 60)) -> FrameInput:
    image = disks_image(shape, [(20, centre_col)], 5, "<f4")
    return FrameInput(series, seq, 0.1 * seq, image, pixel_size_nm=1.0, frame_interval_s=0.1)


def test_results_keep_input_order_and_each_series_has_its_own_tracks():
    processor = FrameProcessor(ClassicalEngine(), TrackerConfig())
    frames = []
    for seq in range(4):
        frames.append(frame("a", seq, 15 + 2 * seq))
        frames.append(frame("b", seq, 45 - 2 * seq))
    out = list(process_frames(processor, frames, max_batch=3))
    assert all(isinstance(r, FrameResult) for r in out)
    assert [(r.series, r.seq) for r in out] == [(f.series, f.seq) for f in frames]
    a_ids = {int(r.particles["track_id"][0]) for r in out if r.series == "a"}
    b_ids = {int(r.particles["track_id"][0]) for r in out if r.series == "b"}
    assert len(a_ids) == 1 and len(b_ids) == 1  # one track each, followed across frames
    xs = [float(r.particles["x"][0]) for r in out if r.series == "a"]
    assert np.allclose(np.diff(xs), 2.0, atol=0.2)
    assert sorted(processor.series) == ["a", "b"]
    processor.finish_series("a")
    assert sorted(processor.series) == ["b"]


def test_a_failing_frame_in_a_batch_loses_only_itself():
    processor = FrameProcessor(FlakyEngine(0.0), TrackerConfig())
    poison = FrameInput("a", 1, 0.1, np.full((40, 60), 99.0, np.float32))
    out = processor.process_batch([frame("a", 0, 20), poison, frame("a", 2, 24)])
    assert [type(o).__name__ for o in out] == ["FrameResult", "FrameFailure", "FrameResult"]
    failure = out[1]
    assert isinstance(failure, FrameFailure) and failure.reason == "engine_error"
    assert "poisoned frame" in failure.detail


def test_batches_hold_one_shape_and_at_most_max_batch():
    frames = [frame("a", i, 20, (40, 60) if i < 3 else (30, 30)) for i in range(6)]
    sizes = [[f.seq for f in b] for b in batches_of_same_shape(frames, 2)]
    assert sizes == [[0, 1], [2], [3, 4], [5]]


def test_unsampled_pixels_take_the_nearest_sampled_value():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    mask = np.ones((4, 4), np.uint8)
    mask[1, :] = 0
    filled = fill_unsampled(np.where(mask == 1, image, -1), mask)
    assert (filled[mask == 1] == image[mask == 1]).all()
    assert set(np.unique(filled[1])) <= set(image[0]) | set(image[2])  # a neighbouring row
    assert fill_unsampled(image, None) is image
