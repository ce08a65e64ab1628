"""Wire protocol v1: round trips and every rejection reason (pure, no sockets)."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
from nanolive.stream.protocol import (
    EndMessage,
    FrameMessage,
    Limits,
    ProtocolError,
    decode_message,
    encode_end,
    encode_frame,
    header_for,
)
from nanolive.stream.series import SeriesGuard

LIMITS = Limits(max_rows=256, max_cols=256, max_frame_bytes=256 * 256 * 8)


def frame_parts(image: np.ndarray, **header: object) -> list[bytes]:
    head = {"v": 1, "series": "s", "seq": 0, "t": 1.5, "shape": list(image.shape)}
    head["dtype"] = image.dtype.str
    head.update(header)
    return [msgpack.packb(head), image.tobytes()]


@pytest.mark.parametrize("dtype", ["|u1", "<u2", ">u2", "<i4", "<f4", "<f8"])
@pytest.mark.parametrize("shape", [(7, 13), (32, 32)])
def test_frame_round_trip_keeps_pixels_shape_dtype_and_calibration(dtype, shape):
    rng = np.random.default_rng(0)
    image = (rng.random(shape) * 200).astype(np.dtype(dtype))
    mask = (rng.random(shape) > 0.5).astype(np.uint8)
    header = header_for(image, "run-1", 5, 1.7e9, pixel_size_nm=0.25, frame_interval_s=0.1)
    message = decode_message(encode_frame(header, image, mask), LIMITS)
    assert isinstance(message, FrameMessage)
    assert message.header == header
    np.testing.assert_array_equal(message.image, image)
    assert message.image.dtype.str == np.dtype(dtype).str
    np.testing.assert_array_equal(message.mask, mask)


def test_end_round_trip():
    assert decode_message(encode_end("run-1"), LIMITS) == EndMessage("run-1")


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        ([b"\xc1\xff\x00", b""], "undecodable"),
        ([msgpack.packb([1, 2, 3]), b""], "undecodable"),
        ([], "bad_parts"),
        (frame_parts(np.zeros((4, 4), np.uint8))[:1], "bad_parts"),
        (frame_parts(np.zeros((4, 4), np.uint8)) + [b"\x01" * 16, b"extra"], "bad_parts"),
        (encode_end("s") + [b"x"], "bad_parts"),
        (frame_parts(np.zeros((4, 4), np.uint8), v=2), "unknown_version"),
        ([msgpack.packb({"series": "s"}), b""], "unknown_version"),
        (frame_parts(np.zeros((4, 4), np.uint8), dtype="<c8"), "bad_dtype"),
        (frame_parts(np.zeros((4, 4), np.uint8), seq=-1), "bad_header"),
        (frame_parts(np.zeros((4, 4), np.uint8), t=float("nan")), "bad_header"),
        (frame_parts(np.zeros((4, 4), np.uint8), shape=[4]), "bad_header"),
        (frame_parts(np.zeros((4, 4), np.uint8), colour="red"), "bad_header"),
        (frame_parts(np.zeros((4, 4), np.uint8), pixel_size_nm=-1), "bad_header"),
        (frame_parts(np.zeros((300, 4), np.uint8)), "too_large"),
        (frame_parts(np.zeros((4, 4), np.uint8), shape=[4, 5]), "length_mismatch"),
        (frame_parts(np.zeros((4, 4), np.uint8)) + [b"\x01" * 3], "length_mismatch"),
        (frame_parts(np.array([[1.0, np.nan], [0.0, 1.0]], np.float32)), "non_finite"),
        (frame_parts(np.array([[1.0, np.inf], [0.0, 1.0]], np.float64)), "non_finite"),
    ],
)
def test_bad_messages_raise_with_their_reason(parts, reason):
    with pytest.raises(ProtocolError) as info:
        decode_message(parts, LIMITS)
    assert info.value.reason == reason


def test_byte_limit_applies_to_the_declared_size():
    small = Limits(max_rows=64, max_cols=64, max_frame_bytes=1000)
    with pytest.raises(ProtocolError, match="too_large"):
        decode_message(frame_parts(np.zeros((32, 32), "<f4")), small)
    assert isinstance(decode_message(frame_parts(np.zeros((10, 10), "<f4")), small), FrameMessage)


def test_series_guard_rejects_duplicate_and_out_of_order_and_counts_gaps():
    guard = SeriesGuard(timeout_s=1.0)
    assert guard.accept("a", 0, now_s=0.0) == 0
    assert guard.accept("a", 1, now_s=0.1) == 0
    with pytest.raises(ProtocolError) as dup:
        guard.accept("a", 1, now_s=0.2)
    assert dup.value.reason == "duplicate_seq"
    with pytest.raises(ProtocolError) as back:
        guard.accept("a", 0, now_s=0.2)
    assert back.value.reason == "out_of_order_seq"
    assert guard.accept("a", 5, now_s=0.3) == 3
    assert guard.accept("b", 7, now_s=0.3) == 0  # series are independent
    assert guard.expire(now_s=1.2) == []
    assert guard.expire(now_s=1.35) == ["a", "b"]
    assert guard.open == {}
    assert guard.accept("a", 0, now_s=2.0) == 0  # a closed series may start again
