"""The simulator's entry points: one frame, or a video as an iterator of frames with their truth.

Determinism: everything is drawn from ``np.random.default_rng(seed)``, split into independent streams
(population, dynamics, scan, noise, masks), so e.g. changing the dose keeps the same scene.
``simulate_image(config, seed)`` is frame 0 of ``simulate_video(config, n, seed)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from .config import SimConfig
from .contaminants import Contaminants, draw_contaminants, render_contaminants
from .detector import detector_counts, expected_electrons
from .dynamics import merge_pair, step
from .frames import SimFrame
from .masks import sampling_mask
from .population import Domain, Particles, domain_for, initial_population
from .render import Rendering, occluder_of, render_particles
from .scan import ScanGeometry, scan_geometry
from .support import SupportTexture, support_texture
from .truth import Lineage, frame_events, particle_table

log = logging.getLogger(__name__)

#: Rounds of merging fully hidden particles into their occluder before giving up (per frame).
MAX_HIDDEN_ROUNDS = 32


@dataclass(frozen=True)
class _Streams:
    """Independent random streams of one simulation."""

    population: np.random.Generator
    dynamics: np.random.Generator
    scan: np.random.Generator
    noise: np.random.Generator
    mask: np.random.Generator


def _streams(seed: int | np.random.SeedSequence | None) -> _Streams:
    """Return the five random streams derived from ``seed``."""
    children = np.random.default_rng(seed).spawn(5)
    return _Streams(*children)


def simulate_image(config: SimConfig, seed: int | None = 0) -> SimFrame:
    """Return one simulated frame (frame 0 of the video of the same config and seed)."""
    return next(simulate_video(config, 1, seed))


def simulate_video(config: SimConfig, n_frames: int, seed: int | None = 0) -> Iterator[SimFrame]:
    """Yield ``n_frames`` consecutive frames, ``config.frame_interval_s`` apart, with their truth."""
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, not {n_frames}")
    rng = _streams(seed)
    domain = domain_for(config)
    texture = support_texture(config, rng.population)
    particles = _population_on_support(config, domain, texture, rng.population)
    next_id = int(particles.track_id.max(initial=0)) + 1
    contaminants = draw_contaminants(config, domain, rng.population)
    shift = (
        config.drift_nm_per_s[0] * config.frame_interval_s / config.pixel_size_nm,
        config.drift_nm_per_s[1] * config.frame_interval_s / config.pixel_size_nm,
    )
    offset = (0.0, 0.0)
    visible_before: set[int] = set()
    for index in range(n_frames):
        lineage: list[Lineage] = []
        if index > 0:
            new_offset = (offset[0] + shift[0], offset[1] + shift[1])
            on_support = partial(texture.covers, offset_x=new_offset[0], offset_y=new_offset[1])
            moved = step(particles, config, domain, rng.dynamics, next_id, shift, on_support)
            particles, next_id, lineage = moved.particles, moved.next_id, moved.lineage
            contaminants = contaminants.shifted(*shift)
            offset = new_offset
        scan = scan_geometry(config, rng.scan)
        particles, rendering, next_id = _render_resolving_hidden(
            particles, config, scan, next_id, lineage
        )
        frame = _frame(
            index, config, particles, rendering, texture, contaminants, offset, scan, rng
        )
        visible_now = {int(t) for t in frame.particles["track_id"]}
        if index > 0:
            events = frame_events(index, visible_before, visible_now, lineage)
            frame = replace(frame, events=events)
        visible_before = visible_now
        yield frame


def _population_on_support(
    config: SimConfig, domain: Domain, texture: SupportTexture, rng: np.random.Generator
) -> Particles:
    """Return the frame-0 population with the particles over vacuum removed (ids renumbered 1..N);
    the density on the support is raised so that about ``n_particles`` remain in view."""
    if config.support_coverage >= 1:
        return initial_population(config, domain, rng)
    particles = initial_population(
        config, domain, rng, n_particles=config.n_particles / config.support_coverage
    )
    keep = texture.covers(particles.x, particles.y, 0.0, 0.0)
    return particles.take(keep).with_ids(1)


def _render_resolving_hidden(
    particles: Particles,
    config: SimConfig,
    scan: ScanGeometry,
    next_id: int,
    lineage: list[Lineage],
) -> tuple[Particles, Rendering, int]:
    """Return the rendering after merging every fully hidden in-view particle into its occluder.

    A particle whose in-view footprint is entirely covered by thicker particles overlaps them deeply;
    it is coalesced with the particle covering most of it (a merge, appended to ``lineage``).
    """
    for _ in range(MAX_HIDDEN_ROUNDS):
        rendering = render_particles(particles, config.pixel_size_nm, config.shape, scan)
        if len(particles) == 0:
            return particles, rendering, next_id
        hidden = np.flatnonzero((rendering.footprint_px > 0) & (rendering.visible_px == 0))
        if hidden.size == 0:
            return particles, rendering, next_id
        # pairs (hidden id, occluder id) from this rendering, before any row changes
        pairs = [
            (int(particles.track_id[i]), occluder_of(rendering, int(i), int(particles.track_id[i])))
            for i in hidden
        ]
        # several hidden particles under one occluder (a stack) are all merged this round, one after
        # the other: ``merged_into`` follows each merged id to the particle that now holds it
        merged_into: dict[int, int] = {}
        for hid, owner in pairs:
            if owner == 0:
                continue
            a, b = _current_id(hid, merged_into), _current_id(owner, merged_into)
            if a == b:
                continue
            rows = np.flatnonzero(np.isin(particles.track_id, (a, b)))
            particles = merge_pair(particles, int(rows[0]), int(rows[1]), next_id)
            lineage.append(Lineage("merge", (min(a, b), max(a, b)), (next_id,)))
            merged_into[a] = merged_into[b] = next_id
            next_id += 1
    rendering = render_particles(particles, config.pixel_size_nm, config.shape, scan)
    left = int(np.count_nonzero((rendering.footprint_px > 0) & (rendering.visible_px == 0)))
    if left:
        log.warning("%d fully hidden particles left after %d merge rounds", left, MAX_HIDDEN_ROUNDS)
    return particles, rendering, next_id


def _current_id(track_id: int, merged_into: dict[int, int]) -> int:
    """Return the id of the particle that now holds ``track_id`` (itself if never merged)."""
    while track_id in merged_into:
        track_id = merged_into[track_id]
    return track_id


def _frame(
    index: int,
    config: SimConfig,
    particles: Particles,
    rendering: Rendering,
    texture: SupportTexture,
    contaminants: Contaminants,
    offset: tuple[float, float],
    scan: ScanGeometry,
    rng: _Streams,
) -> SimFrame:
    """Return the frame image, truth and mask from the rendered particles and the scene."""
    support = texture.sample(offset[0], offset[1], scan)
    dirt = render_contaminants(contaminants, config.shape)
    electrons = expected_electrons(config, support, rendering.signal_nm, dirt)
    image, clean = detector_counts(electrons, config, rng.noise)
    mask = None
    if config.sparse_fraction < 1:
        mask = sampling_mask(config.shape, config.sparse_fraction, config.sparse_kind, rng.mask)
    return SimFrame(
        index=index,
        t_s=index * config.frame_interval_s,
        image=image,
        labels=rendering.labels,
        particles=particle_table(rendering.labels, particles, config.pixel_size_nm),
        events=[],
        pixel_size_nm=config.pixel_size_nm,
        mask=mask,
        clean=clean,
    )
