"""Particle dynamics between two frames: drift, Brownian motion, growth and Ostwald ripening,
dissolution, splitting, coalescence on contact, nucleation, and entering/leaving the field of view.

Units: positions in px, radii in nm, rates per s; one call advances ``config.frame_interval_s``.
Coalescence keeps the volume (child radius^3 = sum of parents' radius^3), puts the child at the
volume-weighted mean position and gives it a new track id. Particles leaving the domain re-enter on
the opposite side as new particles (new id), which keeps the density steady; the domain margin hides
the swap from the field of view.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from .config import SimConfig
from .population import Domain, Particles, draw_particles
from .truth import Lineage


@dataclass(frozen=True)
class Step:
    """The state after one step: particles, physical identity changes, and the next free track id."""

    particles: Particles
    lineage: list[Lineage]
    next_id: int


def step(
    p: Particles,
    config: SimConfig,
    domain: Domain,
    rng: np.random.Generator,
    next_id: int,
    shift_px: tuple[float, float] = (0.0, 0.0),
    on_support: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Step:
    """Return the population one frame interval later; ``shift_px`` (dx, dy) is the scene drift and
    ``on_support(x, y)`` (after the drift) tells where nuclei may form (None: everywhere)."""
    lineage: list[Lineage] = []
    p = _move(p, config, rng, shift_px)
    p = _grow(p, config)
    p, next_id = _split(p, config, rng, next_id, lineage)
    p, next_id = _coalesce(p, config, rng, next_id, lineage)
    p, next_id = _nucleate(p, config, domain, rng, next_id, on_support)
    p, next_id = _wrap(p, domain, next_id)
    return Step(particles=p, lineage=lineage, next_id=next_id)


def merge_pair(p: Particles, i: int, j: int, new_id: int) -> Particles:
    """Return ``p`` with particles i and j replaced by one of their summed volume (id ``new_id``).

    The child sits at the volume-weighted mean position, keeps the shape of the larger parent and
    has the volume-weighted mean Z-contrast factor.
    """
    v = p.volume_nm3()[[i, j]]
    w = v / v.sum()
    big = i if v[0] >= v[1] else j
    child = p.take(np.array([big]))
    child = replace(
        child,
        track_id=np.array([new_id], np.int64),
        x=np.array([w @ p.x[[i, j]]]),
        y=np.array([w @ p.y[[i, j]]]),
        radius_nm=np.array([(p.radius_nm[i] ** 3 + p.radius_nm[j] ** 3) ** (1 / 3)]),
        z_contrast=np.array([w @ p.z_contrast[[i, j]]]),
    )
    keep = np.ones(len(p), bool)
    keep[[i, j]] = False
    return Particles.concat([p.take(keep), child])


def _move(
    p: Particles, config: SimConfig, rng: np.random.Generator, shift_px: tuple[float, float]
) -> Particles:
    """Return particles displaced by the drift and by size-dependent Brownian steps."""
    if len(p) == 0:
        return p
    d = config.diffusion_nm2_per_s * (config.radius_median_nm / p.radius_nm) ** (
        config.diffusion_size_exponent
    )
    sigma_px = np.sqrt(2 * d * config.frame_interval_s) / config.pixel_size_nm
    kick = sigma_px[:, None] * rng.standard_normal((len(p), 2))
    return replace(p, x=p.x + shift_px[0] + kick[:, 0], y=p.y + shift_px[1] + kick[:, 1])


def _grow(p: Particles, config: SimConfig) -> Particles:
    """Return particles after uniform growth and LSW ripening; those below radius_min dissolve."""
    if len(p) == 0 or (config.growth_nm_per_s == 0 and config.ostwald_rate_nm3_per_s == 0):
        return p
    r = p.radius_nm
    r_mean = float(r.mean())
    rate = config.growth_nm_per_s + config.ostwald_rate_nm3_per_s / r * (1 / r_mean - 1 / r)
    r_new = r + rate * config.frame_interval_s
    p = replace(p, radius_nm=np.maximum(r_new, 0.0))
    return p.take(r_new >= config.radius_min_nm)


def _split(
    p: Particles, config: SimConfig, rng: np.random.Generator, next_id: int, lineage: list[Lineage]
) -> tuple[Particles, int]:
    """Return particles after random fragmentation into two touching-apart pieces of equal total volume."""
    if config.split_probability == 0 or len(p) == 0:
        return p, next_id
    splitting = np.flatnonzero(rng.random(len(p)) < config.split_probability)
    if splitting.size == 0:
        return p, next_id
    pieces = []
    for i in splitting:
        u = rng.uniform(0.3, 0.7)
        r = p.radius_nm[i]
        radii = np.array([r * u ** (1 / 3), r * (1 - u) ** (1 / 3)])
        phi = rng.uniform(0, 2 * math.pi)
        sep_px = (radii.sum() + config.contact_gap_nm) / config.pixel_size_nm + 1.5
        w = radii**3 / (radii**3).sum()
        # place the pieces so that their volume-weighted centre is the parent's centre
        offsets = np.array([w[1] * sep_px, -w[0] * sep_px])
        twins = p.take(np.array([i, i]))
        ids = np.array([next_id, next_id + 1], np.int64)
        next_id += 2
        pieces.append(
            replace(
                twins,
                track_id=ids,
                radius_nm=radii,
                x=p.x[i] + offsets * math.cos(phi),
                y=p.y[i] + offsets * math.sin(phi),
            )
        )
        lineage.append(Lineage("split", (int(p.track_id[i]),), (int(ids[0]), int(ids[1]))))
    keep = np.ones(len(p), bool)
    keep[splitting] = False
    return Particles.concat([p.take(keep), *pieces]), next_id


def contact_pairs(p: Particles, config: SimConfig) -> list[tuple[float, int, int]]:
    """Return (distance px, i, j) of particle pairs in contact, closest first.

    Contact: centre distance < (r_i + r_j + contact_gap_nm) / pixel_size_nm, with volume-equivalent
    radii.
    """
    if len(p) < 2:
        return []
    r_px = p.radius_nm / config.pixel_size_nm
    gap_px = config.contact_gap_nm / config.pixel_size_nm
    tree = cKDTree(np.column_stack([p.x, p.y]))
    candidates = tree.query_pairs(2 * float(r_px.max()) + gap_px, output_type="ndarray")
    if candidates.size == 0:
        return []
    i, j = candidates[:, 0], candidates[:, 1]
    dist = np.hypot(p.x[i] - p.x[j], p.y[i] - p.y[j])
    touching = dist < r_px[i] + r_px[j] + gap_px
    order = np.argsort(dist[touching], kind="stable")
    return [
        (float(d), int(a), int(b))
        for d, a, b in zip(
            dist[touching][order], i[touching][order], j[touching][order], strict=True
        )
    ]


def _coalesce(
    p: Particles, config: SimConfig, rng: np.random.Generator, next_id: int, lineage: list[Lineage]
) -> tuple[Particles, int]:
    """Return particles after pairs in contact coalesced (each with ``merge_probability``); the
    other pairs in contact are pushed apart to touching (particles do not interpenetrate)."""
    pairs = contact_pairs(p, config)
    if not pairs:
        return p, next_id
    accept = rng.random(len(pairs)) < config.merge_probability
    used: set[int] = set()
    merges: list[tuple[int, int]] = []
    for (_, i, j), ok in zip(pairs, accept, strict=True):
        if ok and i not in used and j not in used:
            used.update((i, j))
            merges.append((i, j))
    p = _push_apart(p, config, [(i, j) for _, i, j in pairs if i not in used and j not in used])
    ids = p.track_id
    for i, j in merges:
        a, b = int(ids[i]), int(ids[j])
        rows = np.flatnonzero(np.isin(p.track_id, (a, b)))
        p = merge_pair(p, int(rows[0]), int(rows[1]), next_id)
        lineage.append(Lineage("merge", (min(a, b), max(a, b)), (next_id,)))
        next_id += 1
    return p, next_id


def _push_apart(p: Particles, config: SimConfig, pairs: list[tuple[int, int]]) -> Particles:
    """Return particles with each given contact pair moved apart to touching (one pass).

    Each particle moves along the centre line in proportion to the other's volume (momentum-like).
    """
    if not pairs:
        return p
    i = np.array([a for a, _ in pairs])
    j = np.array([b for _, b in pairs])
    r_px = p.radius_nm / config.pixel_size_nm
    dx = p.x[j] - p.x[i]
    dy = p.y[j] - p.y[i]
    dist = np.hypot(dx, dy)
    tiny = dist < 1e-9
    dx[tiny], dy[tiny], dist[tiny] = 1.0, 0.0, 1.0
    overlap = r_px[i] + r_px[j] + config.contact_gap_nm / config.pixel_size_nm - dist
    v = p.volume_nm3()
    share_i = v[j] / (v[i] + v[j])
    ux, uy = dx / dist, dy / dist
    x = p.x.copy()
    y = p.y.copy()
    np.add.at(x, i, -overlap * share_i * ux)
    np.add.at(y, i, -overlap * share_i * uy)
    np.add.at(x, j, overlap * (1 - share_i) * ux)
    np.add.at(y, j, overlap * (1 - share_i) * uy)
    return replace(p, x=x, y=y)


def _nucleate(
    p: Particles,
    config: SimConfig,
    domain: Domain,
    rng: np.random.Generator,
    next_id: int,
    on_support: Callable[[np.ndarray, np.ndarray], np.ndarray] | None,
) -> tuple[Particles, int]:
    """Return particles plus new nuclei (Poisson number; rate per um^2 of support and s)."""
    if config.nucleation_per_um2_per_s == 0:
        return p, next_id
    area_um2 = domain.area_px2 * config.pixel_size_nm**2 * 1e-6
    n = int(rng.poisson(config.nucleation_per_um2_per_s * area_um2 * config.frame_interval_s))
    if n == 0:
        return p, next_id
    nuclei = draw_particles(np.full(n, config.nucleus_radius_nm), config, rng)
    x, y = domain.uniform_points(n, rng)
    nuclei = replace(nuclei, x=x, y=y)
    if on_support is not None:
        nuclei = nuclei.take(on_support(x, y))
    nuclei = nuclei.with_ids(next_id)
    return Particles.concat([p, nuclei]), next_id + len(nuclei)


def _wrap(p: Particles, domain: Domain, next_id: int) -> tuple[Particles, int]:
    """Return particles with those outside the domain re-entered on the opposite side, with new ids."""
    width = domain.x1 - domain.x0
    height = domain.y1 - domain.y0
    out = (p.x < domain.x0) | (p.x >= domain.x1) | (p.y < domain.y0) | (p.y >= domain.y1)
    if not out.any():
        return p, next_id
    n = int(out.sum())
    ids = p.track_id.copy()
    ids[out] = np.arange(next_id, next_id + n)
    x = domain.x0 + np.mod(p.x - domain.x0, width)
    y = domain.y0 + np.mod(p.y - domain.y0, height)
    return replace(p, track_id=ids, x=x, y=y), next_id + n
