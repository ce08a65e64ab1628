"""The particle population: a struct of arrays, lognormal sizes, shapes, and spatial arrangements.

Positions are in px in field-of-view coordinates (x = column, y = row). Particles live in a
``Domain``: the field of view plus a margin, so that particles can enter and leave the view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
from scipy.spatial import cKDTree

from . import shapes
from .config import SHAPE_KINDS, SimConfig


@dataclass(frozen=True)
class Domain:
    """The rectangle where particles live (px): x in [x0, x1), y in [y0, y1)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def area_px2(self) -> float:
        """Return the area (px^2)."""
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    def uniform_points(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return ``n`` uniformly random points (x, y) (px) inside the domain."""
        return rng.uniform(self.x0, self.x1, n), rng.uniform(self.y0, self.y1, n)


def domain_for(config: SimConfig) -> Domain:
    """Return the field of view extended by a margin wide enough to hide the largest particles (px)."""
    r_hi = config.radius_median_nm * math.exp(3 * config.radius_sigma) / config.pixel_size_nm
    margin = math.ceil(2.5 * r_hi) + 8
    rows, cols = config.shape
    return Domain(-0.5 - margin, -0.5 - margin, cols - 0.5 + margin, rows - 0.5 + margin)


@dataclass(frozen=True)
class Particles:
    """Particle state as parallel arrays (one entry per particle).

    track_id: int64 identity (>= 1). x, y: centre (px). radius_nm: volume-equivalent radius (nm).
    kind: int8 index into ``shapes.KIND_NAMES``. p1, p2: shape parameters (see ``shapes``).
    theta: in-plane orientation (rad). q: (n, 4) unit quaternions (polyhedra). z_contrast: Z factor.
    """

    track_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    radius_nm: np.ndarray
    kind: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    theta: np.ndarray
    q: np.ndarray
    z_contrast: np.ndarray

    def __len__(self) -> int:
        return int(self.track_id.size)

    def take(self, index: np.ndarray) -> Particles:
        """Return the particles selected by an index or boolean array."""
        return Particles(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def volume_nm3(self) -> np.ndarray:
        """Return each particle's volume (nm^3)."""
        return 4 / 3 * math.pi * self.radius_nm**3

    def with_ids(self, first_id: int) -> Particles:
        """Return a copy numbered first_id, first_id + 1, ..."""
        ids = np.arange(first_id, first_id + len(self), dtype=np.int64)
        return replace(self, track_id=ids)

    @staticmethod
    def concat(parts: list[Particles]) -> Particles:
        """Return all particles of ``parts`` in one population."""
        return Particles(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(Particles)
            }
        )


def extents_px(p: Particles, pixel_size_nm: float) -> np.ndarray:
    """Return each particle's largest in-plane centre-to-outline distance (px)."""
    return np.array(
        [
            shapes.extent(int(k), r / pixel_size_nm, a, b)
            for k, r, a, b in zip(p.kind, p.radius_nm, p.p1, p.p2, strict=True)
        ]
    )


def draw_radii(n: int, config: SimConfig, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` lognormal volume-equivalent radii (nm), clipped below at ``radius_min_nm``."""
    r = config.radius_median_nm * np.exp(config.radius_sigma * rng.standard_normal(n))
    return np.maximum(r, config.radius_min_nm)


def draw_particles(radius_nm: np.ndarray, config: SimConfig, rng: np.random.Generator) -> Particles:
    """Return particles of the given radii with random shapes and orientations, at (0, 0), id 0."""
    n = radius_nm.size
    names = [k for k, _ in config.shape_weights]
    weights = np.array([w for _, w in config.shape_weights], float)
    kind_of_name = np.array([SHAPE_KINDS.index(k) for k in names], np.int8)
    kind = kind_of_name[rng.choice(len(names), size=n, p=weights / weights.sum())]
    p1 = np.zeros(n)
    p2 = np.zeros(n)
    ell = kind == shapes.ELLIPSOID
    p1[ell] = rng.uniform(1.0, config.aspect_ratio_max, ell.sum())
    p2[ell] = rng.uniform(0.7, 1.0, ell.sum())
    poly = kind == shapes.POLYHEDRON
    p1[poly] = rng.choice(shapes.POLYHEDRON_RATIOS, poly.sum())
    pri = kind == shapes.PRISM
    p1[pri] = rng.uniform(0.3, 0.8, pri.sum())
    p2[pri] = rng.choice(shapes.PRISM_SIDES, pri.sum())
    rod = kind == shapes.ROD
    p1[rod] = rng.uniform(1.5, config.rod_aspect_max, rod.sum())
    z = config.z_contrast * np.exp(config.z_contrast_spread * rng.standard_normal(n))
    return Particles(
        track_id=np.zeros(n, np.int64),
        x=np.zeros(n),
        y=np.zeros(n),
        radius_nm=radius_nm.astype(float),
        kind=kind,
        p1=p1,
        p2=p2,
        theta=rng.uniform(0, 2 * math.pi, n),
        q=shapes.random_quaternions(n, rng),
        z_contrast=z,
    )


def initial_population(
    config: SimConfig, domain: Domain, rng: np.random.Generator, n_particles: float | None = None
) -> Particles:
    """Return the frame-0 population in ``domain``, arranged as ``config.arrangement``, ids 1..N;
    ``n_particles`` (expected count in view) overrides ``config.n_particles``."""
    fov_area = config.shape[0] * config.shape[1]
    per_view = config.n_particles if n_particles is None else n_particles
    n = int(round(per_view * domain.area_px2 / fov_area))
    p = draw_particles(draw_radii(n, config, rng), config, rng)
    if n == 0:
        return p.with_ids(1)
    ext = extents_px(p, config.pixel_size_nm)
    arrange = {
        "random": _arrange_random,
        "clustered": _arrange_clustered,
        "agglomerated": _arrange_agglomerated,
        "ring": _arrange_rings,
        "chain": _arrange_chains,
    }[config.arrangement]
    x, y = arrange(ext, config, domain, rng)
    return replace(p, x=x, y=y).with_ids(1)


def _arrange_random(
    ext: np.ndarray, config: SimConfig, domain: Domain, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return uniformly random centres; particles overlapping an earlier one (closer than the sum
    of their extents + 1 px) are redrawn, up to 30 rounds (then overlaps are kept)."""
    x, y = domain.uniform_points(ext.size, rng)
    reach = 2 * float(ext.max()) + 1.0
    for _ in range(30):
        pairs = cKDTree(np.column_stack([x, y])).query_pairs(reach, output_type="ndarray")
        if pairs.size == 0:
            break
        i, j = pairs[:, 0], pairs[:, 1]
        close = np.hypot(x[i] - x[j], y[i] - y[j]) <= ext[i] + ext[j] + 1.0
        redraw = np.unique(np.maximum(i[close], j[close]))
        if redraw.size == 0:
            break
        x[redraw], y[redraw] = domain.uniform_points(redraw.size, rng)
    return x, y


def _cluster_sizes(n: int, mean: float, rng: np.random.Generator) -> list[int]:
    """Return cluster sizes (>= 1, mean about ``mean``) summing to ``n``."""
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(min(1 + int(rng.poisson(max(mean - 1, 0))), n - sum(sizes)))
    return sizes


def _arrange_clustered(
    ext: np.ndarray, config: SimConfig, domain: Domain, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return centres in Gaussian clusters (Neyman-Scott process); overlaps are allowed."""
    sigma = config.cluster_radius_nm / config.pixel_size_nm
    xs, ys = [], []
    for size in _cluster_sizes(ext.size, config.cluster_size_mean, rng):
        cx, cy = domain.uniform_points(1, rng)
        xs.append(cx + sigma * rng.standard_normal(size))
        ys.append(cy + sigma * rng.standard_normal(size))
    return np.concatenate(xs), np.concatenate(ys)


def _arrange_agglomerated(
    ext: np.ndarray, config: SimConfig, domain: Domain, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return centres of compact agglomerates grown by attaching each particle to a member."""
    x = np.empty(ext.size)
    y = np.empty(ext.size)
    start = 0
    for size in _cluster_sizes(ext.size, config.cluster_size_mean, rng):
        cx, cy = domain.uniform_points(1, rng)
        x[start], y[start] = cx[0], cy[0]
        for i in range(start + 1, start + size):
            for _ in range(20):
                j = int(rng.integers(start, i))
                gap = 1 - rng.uniform(0, config.overlap_max)
                phi = rng.uniform(0, 2 * math.pi)
                px = x[j] + gap * (ext[i] + ext[j]) * math.cos(phi)
                py = y[j] + gap * (ext[i] + ext[j]) * math.sin(phi)
                members = slice(start, i)
                dist = np.hypot(x[members] - px, y[members] - py)
                if np.all(dist >= (1 - config.overlap_max) * (ext[members] + ext[i]) - 1e-9):
                    break
            x[i], y[i] = px, py
        start += size
    return x, y


def _arrange_rings(
    ext: np.ndarray, config: SimConfig, domain: Domain, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return centres on circles ("circular formations"), neighbours about touching or spaced."""
    x = np.empty(ext.size)
    y = np.empty(ext.size)
    start = 0
    for size in _cluster_sizes(ext.size, config.cluster_size_mean, rng):
        e = ext[start : start + size]
        spacing = 2 * e * rng.uniform(1.0, 1.6, size)
        circumference = spacing.sum()
        radius = max(circumference / (2 * math.pi), config.cluster_radius_nm / config.pixel_size_nm)
        angles = 2 * math.pi * (np.cumsum(spacing) - spacing / 2) / max(circumference, 1e-9)
        angles = angles * min(1.0, circumference / (2 * math.pi * radius))
        angles += rng.uniform(0, 2 * math.pi)
        cx, cy = domain.uniform_points(1, rng)
        x[start : start + size] = cx + radius * np.cos(angles)
        y[start : start + size] = cy + radius * np.sin(angles)
        start += size
    return x, y


def _arrange_chains(
    ext: np.ndarray, config: SimConfig, domain: Domain, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return centres along wandering lines of touching or slightly overlapping particles."""
    x = np.empty(ext.size)
    y = np.empty(ext.size)
    start = 0
    for size in _cluster_sizes(ext.size, config.cluster_size_mean, rng):
        cx, cy = domain.uniform_points(1, rng)
        x[start], y[start] = cx[0], cy[0]
        phi = rng.uniform(0, 2 * math.pi)
        for i in range(start + 1, start + size):
            phi += 0.35 * rng.standard_normal()
            step = (ext[i] + ext[i - 1]) * rng.uniform(1 - config.overlap_max / 2, 1.05)
            x[i] = x[i - 1] + step * math.cos(phi)
            y[i] = y[i - 1] + step * math.sin(phi)
        start += size
    return x, y
