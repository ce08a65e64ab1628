"""Wire protocol v1: encode, decode and validate the messages of the frame stream (pure, no sockets).

A frame is a multipart message ``[msgpack header map, raw pixel bytes in C order]`` with an optional
third part, a uint8 sampling mask (1 = sampled) of the same shape. Header keys: ``v`` (1), ``series``
(str), ``seq`` (int >= 0, increasing within a series), ``t`` (acquisition time, s since the epoch),
``shape`` [rows, cols], ``dtype`` (numpy type string such as "|u1", "<u2", "<f4"), optional
``pixel_size_nm`` (nm per px) and ``frame_interval_s`` (s). The end of a series is the single-part
message ``[{"v": 1, "type": "end", "series": ...}]``. See docs/protocol.md.

Every rejection raises :class:`ProtocolError` whose ``reason`` is one of :data:`BAD_REASONS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgpack
import numpy as np

PROTOCOL_VERSION = 1

#: Numpy dtypes a frame may carry (byte order explicit for multi-byte types).
ALLOWED_DTYPES: frozenset[str] = frozenset(
    {
        "|u1",
        "|i1",
        "<u2",
        ">u2",
        "<i2",
        ">i2",
        "<u4",
        ">u4",
        "<i4",
        ">i4",
        "<f4",
        ">f4",
        "<f8",
        ">f8",
    }
)

#: Reason codes for rejected messages (label values of ``nanolive_bad_messages_total``).
BAD_REASONS: tuple[str, ...] = (
    "undecodable",  # first part is not a msgpack map
    "bad_parts",  # missing or extra parts for the message type
    "bad_header",  # required key missing, wrong type, or unknown key
    "unknown_version",  # ``v`` is not 1
    "bad_dtype",  # dtype not in ALLOWED_DTYPES
    "too_large",  # rows, cols or bytes above the configured limits
    "length_mismatch",  # pixel bytes != rows * cols * itemsize (or mask bytes != rows * cols)
    "non_finite",  # NaN or inf pixels in a float frame
    "duplicate_seq",  # seq equal to the last accepted seq of that series
    "out_of_order_seq",  # seq below the last accepted seq of that series
)

FRAME_KEYS: frozenset[str] = frozenset(
    {"v", "type", "series", "seq", "t", "shape", "dtype", "pixel_size_nm", "frame_interval_s"}
)
END_KEYS: frozenset[str] = frozenset({"v", "type", "series"})


class ProtocolError(ValueError):
    """A message that breaks the protocol; ``reason`` is a code from :data:`BAD_REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    """Upper bounds a frame must respect (rows and cols in px, payload in bytes)."""

    max_rows: int = 8192
    max_cols: int = 8192
    max_frame_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("max_rows", "max_cols", "max_frame_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"ingest.{name} must be >= 1, not {getattr(self, name)}")


@dataclass(frozen=True)
class FrameHeader:
    """The validated header of one frame (shape in px as (rows, cols); t in s since the epoch)."""

    series: str
    seq: int
    t: float
    shape: tuple[int, int]
    dtype: str
    pixel_size_nm: float | None = None
    frame_interval_s: float | None = None

    def to_map(self) -> dict[str, object]:
        """Return the msgpack-ready header map of this frame."""
        out: dict[str, object] = {
            "v": PROTOCOL_VERSION,
            "series": self.series,
            "seq": self.seq,
            "t": self.t,
            "shape": list(self.shape),
            "dtype": self.dtype,
        }
        if self.pixel_size_nm is not None:
            out["pixel_size_nm"] = self.pixel_size_nm
        if self.frame_interval_s is not None:
            out["frame_interval_s"] = self.frame_interval_s
        return out


@dataclass(frozen=True)
class FrameMessage:
    """A decoded frame: header, pixels (rows, cols) in the sender's dtype, optional uint8 mask."""

    header: FrameHeader
    image: np.ndarray
    mask: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        """Payload size in bytes (pixels plus mask)."""
        return int(self.image.nbytes + (0 if self.mask is None else self.mask.nbytes))


@dataclass(frozen=True)
class EndMessage:
    """The end of a series."""

    series: str


def encode_frame(
    header: FrameHeader, image: np.ndarray, mask: np.ndarray | None = None
) -> list[bytes]:
    """Return the multipart message of one frame; ``image`` must match the header's shape and dtype."""
    arr = np.ascontiguousarray(image)
    if arr.shape != header.shape or arr.dtype.str != np.dtype(header.dtype).str:
        raise ValueError(
            f"image {arr.shape} {arr.dtype.str} does not match header {header.shape} {header.dtype}"
        )
    parts = [msgpack.packb(header.to_map()), arr.tobytes()]
    if mask is not None:
        m = np.ascontiguousarray(mask, dtype=np.uint8)
        if m.shape != header.shape:
            raise ValueError(f"mask shape {m.shape} does not match frame shape {header.shape}")
        parts.append(m.tobytes())
    return parts


def encode_end(series: str) -> list[bytes]:
    """Return the single-part end-of-series message."""
    return [msgpack.packb({"v": PROTOCOL_VERSION, "type": "end", "series": series})]


def header_for(
    image: np.ndarray,
    series: str,
    seq: int,
    t: float,
    pixel_size_nm: float | None = None,
    frame_interval_s: float | None = None,
) -> FrameHeader:
    """Return the header describing ``image`` (2-D) as frame ``seq`` of ``series``."""
    if image.ndim != 2:
        raise ValueError(f"a frame must be 2-D (rows, cols), got shape {image.shape}")
    rows, cols = image.shape
    return FrameHeader(
        series=series,
        seq=seq,
        t=t,
        shape=(int(rows), int(cols)),
        dtype=np.dtype(image.dtype).str,
        pixel_size_nm=pixel_size_nm,
        frame_interval_s=frame_interval_s,
    )


def decode_message(parts: list[bytes], limits: Limits) -> FrameMessage | EndMessage:
    """Return the validated message of ``parts``, or raise :class:`ProtocolError` with a reason."""
    if not parts:
        raise ProtocolError("bad_parts", "empty message")
    head = unpack_header_map(parts[0])
    version = head.get("v")
    if version != PROTOCOL_VERSION:
        raise ProtocolError("unknown_version", f"v={version!r}, this pipeline speaks v1")
    kind = head.get("type", "frame")
    if kind == "end":
        return decode_end(head, parts)
    if kind != "frame":
        raise ProtocolError("bad_header", f"unknown message type {kind!r}")
    return decode_frame(head, parts, limits)


def unpack_header_map(raw: bytes) -> dict[str, object]:
    """Return the msgpack map in ``raw``; raise ``undecodable`` if it is not one."""
    try:
        head = msgpack.unpackb(bytes(raw), raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(
            "undecodable", f"header is not msgpack ({type(exc).__name__})"
        ) from None
    if not isinstance(head, dict):
        raise ProtocolError("undecodable", f"header is a msgpack {type(head).__name__}, not a map")
    return head


def decode_end(head: dict[str, object], parts: list[bytes]) -> EndMessage:
    """Return the end-of-series message in ``head``."""
    if len(parts) != 1:
        raise ProtocolError("bad_parts", f"end message has {len(parts)} parts, expected 1")
    unknown = set(head) - END_KEYS
    if unknown:
        raise ProtocolError("bad_header", f"unknown keys in end message: {sorted(unknown)}")
    series = head.get("series")
    if not isinstance(series, str) or not series:
        raise ProtocolError("bad_header", "end message needs a non-empty str 'series'")
    return EndMessage(series=series)


def decode_frame(head: dict[str, object], parts: list[bytes], limits: Limits) -> FrameMessage:
    """Return the frame in ``parts`` after checking header, sizes, lengths and values."""
    if len(parts) not in (2, 3):
        raise ProtocolError("bad_parts", f"frame has {len(parts)} parts, expected 2 or 3")
    header = parse_frame_header(head)
    rows, cols = header.shape
    if rows > limits.max_rows or cols > limits.max_cols:
        raise ProtocolError(
            "too_large", f"shape {rows}x{cols} above limit {limits.max_rows}x{limits.max_cols}"
        )
    dtype = np.dtype(header.dtype)
    expected = rows * cols * dtype.itemsize
    if expected > limits.max_frame_bytes:
        raise ProtocolError(
            "too_large", f"{expected} bytes above limit {limits.max_frame_bytes} bytes"
        )
    data = memoryview(parts[1])
    if data.nbytes != expected:
        raise ProtocolError(
            "length_mismatch",
            f"{data.nbytes} pixel bytes, shape {rows}x{cols} {header.dtype} needs {expected}",
        )
    image = np.frombuffer(data, dtype=dtype).reshape(rows, cols)
    if dtype.kind == "f" and not np.isfinite(image).all():
        bad = int(image.size - np.count_nonzero(np.isfinite(image)))
        raise ProtocolError("non_finite", f"{bad} NaN/inf pixels in series {header.series!r}")
    mask = None
    if len(parts) == 3:
        mview = memoryview(parts[2])
        if mview.nbytes != rows * cols:
            raise ProtocolError(
                "length_mismatch",
                f"{mview.nbytes} mask bytes, shape {rows}x{cols} needs {rows * cols}",
            )
        mask = np.frombuffer(mview, dtype=np.uint8).reshape(rows, cols)
    return FrameMessage(header=header, image=image, mask=mask)


def parse_frame_header(head: dict[str, object]) -> FrameHeader:
    """Return the typed header of a frame map; raise ``bad_header``/``bad_dtype`` when malformed."""
    unknown = set(head) - FRAME_KEYS
    if unknown:
        raise ProtocolError("bad_header", f"unknown header keys {sorted(unknown)}")
    missing = [k for k in ("series", "seq", "t", "shape", "dtype") if k not in head]
    if missing:
        raise ProtocolError("bad_header", f"missing header keys {missing}")
    series, seq, t, shape, dtype = (head[k] for k in ("series", "seq", "t", "shape", "dtype"))
    if not isinstance(series, str) or not series:
        raise ProtocolError("bad_header", "'series' must be a non-empty str")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ProtocolError("bad_header", f"'seq' must be an int >= 0, not {seq!r}")
    if not is_finite_number(t):
        raise ProtocolError("bad_header", f"'t' must be a finite number, not {t!r}")
    if (
        not isinstance(shape, list | tuple)
        or len(shape) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
    ):
        raise ProtocolError(
            "bad_header", f"'shape' must be [rows, cols] of ints > 0, not {shape!r}"
        )
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        raise ProtocolError("bad_dtype", f"dtype {dtype!r} not one of {sorted(ALLOWED_DTYPES)}")
    return FrameHeader(
        series=series,
        seq=seq,
        t=float(t),
        shape=(int(shape[0]), int(shape[1])),
        dtype=dtype,
        pixel_size_nm=optional_positive(head, "pixel_size_nm"),
        frame_interval_s=optional_positive(head, "frame_interval_s"),
    )


def optional_positive(head: dict[str, object], key: str) -> float | None:
    """Return the optional positive number ``head[key]`` as float, None when absent."""
    value = head.get(key)
    if value is None:
        return None
    if not is_finite_number(value) or value <= 0:
        raise ProtocolError("bad_header", f"{key!r} must be a positive number, not {value!r}")
    return float(value)


def is_finite_number(value: object) -> bool:
    """Return True for an int or float (not bool) that is finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
