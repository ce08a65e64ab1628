"""`nanolive analyze`: the live pipeline's per-frame core run over files, writing the contract tables.

Each input is one source: a stack (3-D), a video file or a folder of images (an image sequence) is a
video analysed as one series (one tracker), a 2-D image is analysed on its own. With
``AnalyzeOptions.sequence`` all inputs together are one image sequence, in natural order. Output in
DIR (see :mod:`nanolive.stream.record` for the columns): particles.csv, frames.csv, events.csv,
summary.json and, with ``save_labels``, labels/<input stem>.tif.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nanolive.engines.base import Engine
from nanolive.trackers import TrackerConfig

from .files import ImageSource, natural_key, read_image_file, read_image_sequence
from .integrate import IntegrationConfig
from .pipeline import FrameFailure, FrameInput, FrameProcessor, process_frames
from .record import SessionRecorder

log = logging.getLogger(__name__)

PROGRESS_MIN_FRAMES = 20  # show a progress bar from this many frames on
UNREADABLE = "unreadable_file"  # failure reason of a frame whose file cannot be read


@dataclass(frozen=True)
class AnalyzeOptions:
    """Options of one analysis run.

    pixel_size_nm / frame_interval_s: override the calibration found in the files (nm per px, s);
    save_labels: write labels/<input stem>.tif; max_batch: frames per engine call; progress: show a
    progress bar on long inputs (None = when stderr is a terminal); sequence: the inputs are the
    frames of one video (2-D images, natural order of their names), named after the folder of the
    first one.
    """

    pixel_size_nm: float | None = None
    frame_interval_s: float | None = None
    save_labels: bool = False
    max_batch: int = 4
    progress: bool | None = None
    sequence: bool = False

    def __post_init__(self) -> None:
        if self.pixel_size_nm is not None and not self.pixel_size_nm > 0:
            raise ValueError(f"--pixel-size-nm must be > 0, not {self.pixel_size_nm}")
        if self.frame_interval_s is not None and not self.frame_interval_s > 0:
            raise ValueError(f"--frame-interval-s must be > 0, not {self.frame_interval_s}")
        if self.max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, not {self.max_batch}")


@dataclass(frozen=True)
class AnalyzeSummary:
    """What a run did: sources (files, folders or one sequence), frames analysed, particles found,
    frames that failed (by reason), and for each image sequence its files in frame order."""

    sources: int
    frames: int
    particles: int
    failures: dict[str, int]
    sequences: dict[str, list[str]]

    def as_dict(self) -> dict[str, object]:
        """Return the summary as plain data."""
        return {
            "sources": self.sources,
            "frames": self.frames,
            "particles": self.particles,
            "failures": dict(self.failures),
            "sequences": {k: list(v) for k, v in self.sequences.items()},
        }


def check_unique_stems(paths: Sequence[Path]) -> None:
    """Raise ValueError if two inputs share a stem (their label files would collide)."""
    seen: dict[str, Path] = {}
    for p in paths:
        other = seen.get(p.stem)
        if other is not None and other != p:
            raise ValueError(f"inputs {other} and {p} share the stem {p.stem!r}; rename one")
        seen[p.stem] = p


def read_sources(inputs: Sequence[Path], sequence: bool) -> list[ImageSource]:
    """Return the sources of ``inputs``: one per input, or one image sequence of all of them."""
    if sequence:
        files = sorted(inputs, key=natural_key)
        folder = files[0].resolve().parent
        return [read_image_sequence(files, folder)]
    check_unique_stems(inputs)
    return [read_image_file(p) for p in inputs]


def frame_inputs(
    source: ImageSource,
    options: AnalyzeOptions,
    unreadable: Callable[[int, str], None] | None = None,
) -> Iterator[FrameInput]:
    """Yield the frames of ``source`` as core inputs (float32; series = file name; seq = index).

    A frame that cannot be read (a bad file of an image sequence) is passed to ``unreadable(index,
    detail)`` and skipped; without ``unreadable`` its ValueError propagates."""
    pixel = options.pixel_size_nm or source.pixel_size_nm
    interval = options.frame_interval_s or source.frame_interval_s
    for index in range(len(source.frames)):
        try:
            image = source.frames[index]
        except ValueError as exc:
            if unreadable is None:
                raise
            unreadable(index, str(exc))
            continue
        yield FrameInput(
            series=source.name,
            seq=index,
            t_s=index * (interval or 1.0),
            image=np.asarray(image, dtype=np.float32),
            pixel_size_nm=pixel,
            frame_interval_s=interval,
        )


def analyze_paths(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    engine: Engine,
    tracker_config: TrackerConfig,
    options: AnalyzeOptions,
    integration: IntegrationConfig | None = None,
) -> AnalyzeSummary:
    """Analyse every input into ``out_dir``; return the summary. Raises ValueError on bad input.
    ``integration``: temporal integration of each file's frames (default off)."""
    inputs = [Path(p) for p in paths]
    if not inputs:
        raise ValueError("no input files given")
    sources = read_sources(inputs, options.sequence)  # fail early, before writing anything
    out = Path(out_dir)
    recorder = SessionRecorder(out, save_labels=options.save_labels)
    total = sum(len(s.frames) for s in sources)
    show = options.progress if options.progress is not None else sys.stderr.isatty()
    bar = progress_bar(total, show and total >= PROGRESS_MIN_FRAMES)
    frames = particles = 0
    failures: dict[str, int] = {}
    try:
        for source in sources:
            processor = FrameProcessor(engine, tracker_config, integration)
            stem = source.path.stem

            def unreadable(index: int, detail: str, name: str = source.name) -> None:
                failures[UNREADABLE] = failures.get(UNREADABLE, 0) + 1
                log.warning("%s frame %d not analysed (%s): %s", name, index, UNREADABLE, detail)
                bar.update(1)

            inputs = frame_inputs(source, options, unreadable)
            for outcome in process_frames(processor, inputs, options.max_batch):
                bar.update(1)
                if isinstance(outcome, FrameFailure):
                    failures[outcome.reason] = failures.get(outcome.reason, 0) + 1
                    log.warning(
                        "%s frame %d not analysed (%s): %s",
                        source.name,
                        outcome.frame.seq,
                        outcome.reason,
                        outcome.detail,
                    )
                    continue
                recorder.write_result(outcome, source=source.name, stack_name=stem)
                frames += 1
                particles += outcome.count
            recorder.write_events(source.name, processor.finish_series(source.name))
            recorder.close_source(stem)
    finally:
        bar.close()
        recorder.close()
    sequences = {s.name: list(s.frame_files) for s in sources if s.frame_files}
    summary = AnalyzeSummary(len(sources), frames, particles, failures, sequences)
    (out / "summary.json").write_text(json.dumps(summary.as_dict(), indent=2))
    return summary


class _NoBar:
    def update(self, n: int) -> None:
        """Ignore progress."""

    def close(self) -> None:
        """Nothing to close."""


def progress_bar(total: int, show: bool) -> object:
    """Return a tqdm bar over ``total`` frames on stderr, or a silent stand-in."""
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc="analyze", file=sys.stderr)
