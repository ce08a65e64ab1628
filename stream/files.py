"""Readers for image files: frames (N, rows, cols) plus the pixel size and frame interval when known.

Formats: PNG/JPEG/BMP/GIF (colour -> grey by luminance; an animated GIF is a video), TIFF and
multi-page TIFF (ImageJ/resolution tags give the pixel size), NPY, the microscope formats
DM3/DM4/EMD/HSPY/MRC through rosettasciio (axis scales give the pixel size and, for a time axis, the
frame interval), and video files MP4/AVI/MOV/MKV/WEBM through PyAV (the stream's frame rate gives the
frame interval; frames are decoded to 8-bit luminance). A 2-D image is one frame; a 3-D array is a
video (frames along the first axis). A folder of 2-D images, or a list of them read with
:func:`read_image_sequence`, is one video whose frames are the files in natural order
(``frame_2`` before ``frame_10``), as exported image sequences are named.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

RGB_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])  # ITU-R 709 luminance, as scikit-image rgb2gray
PLAIN_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
TIFF_SUFFIXES = (".tif", ".tiff")
RSCIIO_READERS = {
    ".dm3": "rsciio.digitalmicrograph",
    ".dm4": "rsciio.digitalmicrograph",
    ".emd": "rsciio.emd",
    ".hspy": "rsciio.hspy",
    ".mrc": "rsciio.mrc",
}
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
SUPPORTED_SUFFIXES: tuple[str, ...] = (
    PLAIN_IMAGE_SUFFIXES + TIFF_SUFFIXES + (".npy",) + tuple(RSCIIO_READERS) + VIDEO_SUFFIXES
)
#: What a folder (an image sequence) may hold: one 2-D image per file.
SEQUENCE_SUFFIXES: tuple[str, ...] = (
    PLAIN_IMAGE_SUFFIXES + TIFF_SUFFIXES + (".npy",) + tuple(RSCIIO_READERS)
)

# Length units to nm (names as written by ImageJ, DigitalMicrograph, HyperSpy, MRC).
NM_PER_UNIT = {
    "nm": 1.0,
    "nanometer": 1.0,
    "nanometers": 1.0,
    "a": 0.1,
    "å": 0.1,
    "angstrom": 0.1,
    "pm": 1e-3,
    "um": 1e3,
    "µm": 1e3,
    "μm": 1e3,
    "micron": 1e3,
    "microns": 1e3,
    "\\u00b5m": 1e3,
    "mm": 1e6,
    "m": 1e9,
}
S_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0}


@dataclass(frozen=True)
class ImageSource:
    """The frames of one input file, or of one image sequence.

    frames: (N, rows, cols) in the file's numeric dtype (grey); for an image sequence a
    :class:`SequenceFrames` that reads each frame when it is accessed, for a video file a
    :class:`VideoFrames` that decodes it; is_stack: True for a video
    (3-D data, a video file or an image sequence: frames analysed as one series), False for a single
    image;
    pixel_size_nm: nm per px or None; frame_interval_s: s between frames or None; frame_files: for an
    image sequence, the file name of each frame (empty otherwise); path: the file, or the folder of
    a sequence.
    """

    path: Path
    frames: np.ndarray | SequenceFrames | VideoFrames
    is_stack: bool
    pixel_size_nm: float | None = None
    frame_interval_s: float | None = None
    frame_files: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The file name (the ``source`` column of the output tables)."""
        return self.path.name


def read_image_file(path: str | Path) -> ImageSource:
    """Return the frames of ``path`` (a file, or a folder = an image sequence); raise ValueError for
    unsupported or unusable content."""
    p = check_input_path(path)
    if p.is_dir():
        return read_image_sequence(sequence_files(p), p)
    suffix = p.suffix.lower()
    if suffix in PLAIN_IMAGE_SUFFIXES:
        return source_from_array(p, read_plain_image(p), None, None)
    if suffix in VIDEO_SUFFIXES:
        frames, interval = read_video(p)
        return ImageSource(p, frames, True, None, interval)
    if suffix in TIFF_SUFFIXES:
        data, pixel_nm, interval = read_tiff(p)
        return source_from_array(p, data, pixel_nm, interval)
    if suffix == ".npy":
        return source_from_array(p, np.load(p, allow_pickle=False), None, None)
    if suffix in RSCIIO_READERS:
        data, pixel_nm, interval = read_with_rsciio(p, RSCIIO_READERS[suffix])
        return source_from_array(p, data, pixel_nm, interval)
    raise ValueError(
        f"{p}: unsupported file type {suffix!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
    )


def check_input_path(path: str | Path) -> Path:
    """Return ``path`` if it is an existing file of a supported type or a folder holding image
    files; raise ValueError otherwise."""
    p = Path(path)
    if p.is_dir():
        sequence_files(p)  # raises when the folder holds no image
        return p
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    if p.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ValueError(
            f"{p}: unsupported file type {p.suffix.lower()!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return p


def natural_key(path: Path) -> tuple[object, ...]:
    """Return a sort key that orders names with numbers by value (``f2`` before ``f10``)."""
    parts = re.split(r"(\d+)", path.name.lower())
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in parts)


def sequence_files(folder: Path) -> list[Path]:
    """Return the image files of ``folder`` (not its sub-folders) in natural order; raise ValueError
    when there is none."""
    files = sorted(
        (f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in SEQUENCE_SUFFIXES),
        key=natural_key,
    )
    if not files:
        raise ValueError(
            f"{folder}: the folder holds no image file ({', '.join(SEQUENCE_SUFFIXES)})"
        )
    return files


class SequenceFrames(Sequence[np.ndarray]):
    """The frames of an image sequence, each read from its file when it is accessed, so that a long
    sequence never sits in memory at once. Indexing raises ValueError (naming the file) when a file
    is unreadable, holds more than one frame, or differs in shape from the first."""

    def __init__(self, paths: Sequence[Path], first: np.ndarray) -> None:
        self.paths = tuple(paths)
        self._first = first

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(frames, rows, cols), the frame shape being the first file's."""
        return (len(self.paths), *self._first.shape)

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("SequenceFrames takes one index at a time")
        if index in (0, -len(self.paths)):
            return self._first  # read when the sequence was opened
        return sequence_frame(self.paths[index], self._first.shape)


def sequence_frame(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """Return the one 2-D frame of an image file of a sequence; raise ValueError when the file is
    unreadable, holds several frames or differs from ``shape``."""
    frame = np.asarray(single_image(path).frames[0])
    if frame.shape != tuple(shape):
        raise ValueError(f"{path}: frame shape {frame.shape} differs from {tuple(shape)}")
    return frame


def single_image(path: Path) -> ImageSource:
    """Return the source of an image file that must hold one frame; raise ValueError otherwise."""
    try:
        source = read_image_file(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from exc
    if source.is_stack:
        raise ValueError(
            f"{path}: holds {len(source.frames)} frames; an image sequence takes one image per "
            "file (analyse a stack on its own)"
        )
    return source


def read_image_sequence(paths: Sequence[str | Path], name: str | Path) -> ImageSource:
    """Return the 2-D images ``paths``, in the order given, as one video named ``name`` (its
    ``path``: a folder, or any name for the tables). Every path must be a supported file (checked
    now); the first file is read now and gives the frame shape and the pixel size; the others are
    read frame by frame (:class:`SequenceFrames`). Raises ValueError on a bad path or first file."""
    if not paths:
        raise ValueError(f"{name}: an image sequence needs at least one file")
    files = [check_input_path(p) for p in paths]
    if any(f.is_dir() for f in files):
        raise ValueError(f"{name}: an image sequence takes image files, not folders")
    first = single_image(files[0])
    frames = SequenceFrames(files, np.asarray(first.frames[0]))
    names = tuple(f.name for f in files)
    return ImageSource(Path(name), frames, True, first.pixel_size_nm, None, names)


class VideoFrames(Sequence[np.ndarray]):
    """The frames of a video file as 8-bit luminance (rows, cols), decoded when they are accessed
    in order, so that a long video never sits in memory at once; going back reopens the file and
    decodes from the start. Indexing raises ValueError (naming the file) when a frame cannot be
    decoded or the video ends before its announced length."""

    def __init__(self, path: Path, count: int, frame_shape: tuple[int, int]) -> None:
        self.path = path
        self._count = count
        self._frame_shape = frame_shape
        self._decoder: Iterator[Any] | None = None
        self._container: Any = None
        self._next = 0

    def __len__(self) -> int:
        return self._count

    @property
    def shape(self) -> tuple[int, int, int]:
        """(frames, rows, cols)."""
        return (self._count, *self._frame_shape)

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        import av

        if isinstance(index, slice):
            raise TypeError("VideoFrames takes one index at a time")
        index = index + self._count if index < 0 else index
        if not 0 <= index < self._count:
            raise IndexError(f"frame {index} of a {self._count}-frame video")
        if self._decoder is None or index < self._next:
            self._open()
        try:
            while True:
                frame = next(self._decoder)  # type: ignore[arg-type]
                self._next += 1
                if self._next > index:
                    break
        except StopIteration:
            self.close()
            raise ValueError(f"{self.path}: the video ends before frame {index}") from None
        except av.FFmpegError as exc:
            self.close()
            raise ValueError(f"{self.path}: cannot decode frame {index}: {exc}") from exc
        if self._next == self._count:
            self.close()
        return frame.to_ndarray(format="gray")

    def _open(self) -> None:
        import av

        self.close()
        self._container = av.open(str(self.path))
        self._decoder = iter(self._container.decode(self._container.streams.video[0]))
        self._next = 0

    def close(self) -> None:
        """Close the file (reopened on the next access)."""
        if self._container is not None:
            self._container.close()
        self._container, self._decoder = None, None


def read_video(path: Path) -> tuple[VideoFrames, float | None]:
    """Return (the frames, decoded on access; s per frame or None) of a video file. The video is
    decoded once here to count its frames and to fail early on a broken file (ValueError)."""
    import av

    count, shape = 0, (0, 0)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError(f"{path}: the file holds no video stream")
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                count += 1
                shape = (int(frame.height), int(frame.width))
            rate = stream.average_rate or stream.guessed_rate
    except av.FFmpegError as exc:
        raise ValueError(f"{path}: cannot decode the video: {exc}") from exc
    if not count:
        raise ValueError(f"{path}: the video holds no frame")
    if min(shape) < 2:
        raise ValueError(f"{path}: frames of shape {shape} are too small")
    interval = 1.0 / float(rate) if rate else None
    return VideoFrames(path, count, shape), interval


def source_from_array(
    path: Path, data: np.ndarray, pixel_size_nm: float | None, frame_interval_s: float | None
) -> ImageSource:
    """Return the source for ``data``: 2-D -> one frame, 3-D -> a stack (colour already grey)."""
    arr = np.asarray(data)
    if arr.dtype.kind not in "uif" and arr.dtype != bool:
        raise ValueError(f"{path}: pixel type {arr.dtype} is not numeric")
    arr = np.squeeze(arr) if arr.ndim > 3 else arr
    if arr.ndim == 2:
        frames, is_stack = arr[None], False
    elif arr.ndim == 3:
        frames, is_stack = arr, True
    else:
        raise ValueError(f"{path}: expected a 2-D image or a 3-D stack, got shape {arr.shape}")
    if frames.shape[1] < 2 or frames.shape[2] < 2:
        raise ValueError(f"{path}: frames of shape {frames.shape[1:]} are too small")
    if frames.dtype == bool:
        frames = frames.astype(np.uint8)
    return ImageSource(path, frames, is_stack, pixel_size_nm, frame_interval_s)


def to_grey(image: np.ndarray) -> np.ndarray:
    """Return a grey image from (rows, cols) or colour (rows, cols, 3|4) data (alpha ignored)."""
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        return (image[..., :3].astype(np.float64) @ RGB_WEIGHTS).astype(np.float32)
    if image.ndim == 3 and image.shape[-1] == 2:  # grey + alpha
        return image[..., 0]
    return image


def read_plain_image(path: Path) -> np.ndarray:
    """Return the grey pixels of a PNG/JPEG/BMP/GIF: (rows, cols), or (N, rows, cols) for an
    animated GIF of more than one frame; raise ValueError (naming the file) when it cannot be
    decoded."""
    import imageio.v3 as iio

    try:
        if path.suffix.lower() == ".gif":  # imageio gives (N, rows, cols, colour) for any GIF
            frames = np.stack([to_grey(f) for f in np.asarray(iio.imread(path, index=None))])
            return frames if len(frames) > 1 else frames[0]
        return to_grey(np.asarray(iio.imread(path, index=0)))
    except (OSError, ValueError, RuntimeError) as exc:  # the plugins' decode errors
        raise ValueError(f"{path}: cannot decode the image: {exc}") from exc


def read_tiff(path: Path) -> tuple[np.ndarray, float | None, float | None]:
    """Return (pixels, nm per px, s per frame) of a TIFF; colour pages become grey."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        data = series.asarray()
        page = tif.pages[0]
        photometric = getattr(page, "photometric", None)
        is_rgb = photometric is not None and int(photometric) == 2  # PHOTOMETRIC.RGB
        if is_rgb and data.ndim >= 3 and data.shape[-1] in (3, 4):
            data = to_grey(data)
        meta = tif.imagej_metadata or {}
        pixel_nm = tiff_pixel_size_nm(page, meta)
        interval = meta.get("finterval")
    interval_s = float(interval) if isinstance(interval, int | float) and interval > 0 else None
    return data, pixel_nm, interval_s


def tiff_pixel_size_nm(page: object, imagej_meta: dict) -> float | None:
    """Return nm per px from a TIFF page's XResolution and its unit, None when not calibrated."""
    tags = getattr(page, "tags", {})
    res = tags.get("XResolution") if hasattr(tags, "get") else None
    if res is None:
        return None
    num, den = res.value if isinstance(res.value, tuple) else (res.value, 1)
    if not num or not den:
        return None
    per_unit = num / den  # pixels per unit
    unit = str(imagej_meta.get("unit", "")).strip().lower()
    if not unit:
        return None  # without an ImageJ unit the resolution is a print resolution (dpi)
    nm = NM_PER_UNIT.get(unit)
    if nm is None or per_unit <= 0:
        return None
    return nm / per_unit


def read_with_rsciio(path: Path, module_name: str) -> tuple[np.ndarray, float | None, float | None]:
    """Return (pixels, nm per px, s per frame) of a microscope file read by rosettasciio."""
    import importlib

    reader = importlib.import_module(module_name).file_reader
    signals = reader(str(path))
    images = [s for s in signals if np.asarray(s["data"]).ndim in (2, 3)]
    if not images:
        shapes = [np.asarray(s["data"]).shape for s in signals]
        raise ValueError(f"{path}: no 2-D image or 3-D stack inside (found shapes {shapes})")
    if len(images) > 1:
        log.info("%s holds %d images; reading the first", path, len(images))
    signal = images[0]
    data = np.asarray(signal["data"])
    axes = list(signal.get("axes", []))
    pixel_nm = axis_length_nm(axes[-1]) if axes else None
    interval = axis_time_s(axes[0]) if data.ndim == 3 and axes else None
    return data, pixel_nm, interval


def axis_length_nm(axis: dict) -> float | None:
    """Return an axis step in nm when its units are a length, else None."""
    unit = str(axis.get("units", "") or "").strip().lower()
    scale = axis.get("scale")
    factor = NM_PER_UNIT.get(unit)
    if factor is None or not isinstance(scale, int | float) or scale <= 0:
        return None
    return float(scale) * factor


def axis_time_s(axis: dict) -> float | None:
    """Return an axis step in s when its units are a time, else None."""
    unit = str(axis.get("units", "") or "").strip().lower()
    scale = axis.get("scale")
    factor = S_PER_UNIT.get(unit)
    if factor is None or not isinstance(scale, int | float) or scale <= 0:
        return None
    return float(scale) * factor
