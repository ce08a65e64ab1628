"""Particle shapes: sizes from the volume-equivalent radius, and projected thickness along the beam.

Every shape is parametrised by its volume-equivalent radius R (the sphere of equal volume) plus
dimensionless parameters ``p1``, ``p2``, an in-plane angle ``theta`` (rad, from +x towards +y) and, for
polyhedra, a unit quaternion ``q`` (3-D orientation). The beam is along z; thickness is the length of
the beam path inside the particle, sampled at pixel centres. All lengths here are in px.

- sphere: radius R.
- ellipsoid: in-plane semi-axes a >= b with a / b = p1, beam-axis semi-axis c = p2 * sqrt(a b), a b c = R^3.
- polyhedron: the convex body |x|,|y|,|z| <= 1 and |+-x +-y +-z| <= sqrt(3) * p1 (cube {100} facets,
  octahedron {111} facets; p1 = d111 / d100), scaled to volume 4/3 pi R^3, rotated by q.
- prism: regular p2-gon (p2 in {3, 4, 6}) of circumradius rho lying flat, height h = p1 * rho.
- rod: spherocylinder of radius rho and cylinder length L = p1 * rho lying flat along theta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial import ConvexHull, HalfspaceIntersection

SPHERE, ELLIPSOID, POLYHEDRON, PRISM, ROD = range(5)
KIND_NAMES: tuple[str, ...] = ("sphere", "ellipsoid", "polyhedron", "prism", "rod")

#: d111 / d100 ratios of the polyhedra drawn: octahedron, two truncated octahedra, cuboctahedron-like, cube.
POLYHEDRON_RATIOS: tuple[float, ...] = (0.55, 0.75, 0.87, 1.0, 1.8)
PRISM_SIDES: tuple[int, ...] = (3, 4, 6)
_EPS = 1e-12


@dataclass(frozen=True)
class UnitPolyhedron:
    """A centrally symmetric polyhedron of unit {100} distance: facet pairs +-n with distance d.

    normals: (m, 3) one unit normal per facet pair; distances: (m,); volume, circumradius and
    half_extent (largest |x| of a vertex) of the unrotated body.
    """

    normals: np.ndarray
    distances: np.ndarray
    volume: float
    circumradius: float
    half_extent: float


@lru_cache(maxsize=16)
def unit_polyhedron(ratio: float) -> UnitPolyhedron:
    """Return the cube/octahedron intersection with d111 / d100 = ``ratio`` (facets, volume, radii)."""
    n100 = np.eye(3)
    n111 = np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [1, -1, -1]], float) / math.sqrt(3)
    normals = np.vstack([n100, n111])
    distances = np.concatenate([np.ones(3), np.full(4, ratio)])
    both = np.vstack([normals, -normals])
    halfspaces = np.hstack([both, -np.concatenate([distances, distances])[:, None]])
    vertices = HalfspaceIntersection(halfspaces, np.zeros(3)).intersections
    # all 7 pairs are kept, also those that do not touch the body (e.g. {111} of a cube): a
    # redundant constraint does not change the intersection, and equal shapes vectorise
    return UnitPolyhedron(
        normals=normals,
        distances=distances,
        volume=float(ConvexHull(vertices).volume),
        circumradius=float(np.linalg.norm(vertices, axis=1).max()),
        half_extent=float(np.abs(vertices[:, 0]).max()),
    )


def ellipsoid_axes(radius: float, p1: float, p2: float) -> tuple[float, float, float]:
    """Return semi-axes (a, b, c) of an ellipsoid of equivalent radius ``radius`` (same unit)."""
    a = radius * math.sqrt(p1) * p2 ** (-1 / 3)
    b = a / p1
    return a, b, p2 * math.sqrt(a * b)


def rod_dimensions(radius: float, p1: float) -> tuple[float, float]:
    """Return (rho, cylinder length) of a spherocylinder of equivalent radius ``radius``."""
    rho = radius * (4 / 3 / (p1 + 4 / 3)) ** (1 / 3)
    return rho, p1 * rho


def prism_dimensions(radius: float, p1: float, sides: int) -> tuple[float, float]:
    """Return (circumradius, height) of a flat regular prism of equivalent radius ``radius``."""
    base = sides / 2 * math.sin(2 * math.pi / sides)
    rho = (4 / 3 * math.pi * radius**3 / (base * p1)) ** (1 / 3)
    return rho, p1 * rho


def polyhedron_scale(radius: float, ratio: float) -> float:
    """Return the {100} distance that gives the polyhedron the volume of a sphere of ``radius``."""
    return (4 / 3 * math.pi * radius**3 / unit_polyhedron(ratio).volume) ** (1 / 3)


def extent(kind: int, radius: float, p1: float, p2: float) -> float:
    """Return the largest in-plane distance from the centre to the particle's outline (same unit)."""
    if kind == SPHERE:
        return radius
    if kind == ELLIPSOID:
        return ellipsoid_axes(radius, p1, p2)[0]
    if kind == ROD:
        rho, length = rod_dimensions(radius, p1)
        return rho + length / 2
    if kind == PRISM:
        return prism_dimensions(radius, p1, int(p2))[0]
    return polyhedron_scale(radius, p1) * unit_polyhedron(p1).circumradius


def extents(kind: np.ndarray, radius: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Return :func:`extent` for arrays of particles (vectorised, same unit as ``radius``)."""
    radius = np.asarray(radius, dtype=np.float64)
    out = radius.copy()
    ell = kind == ELLIPSOID
    if ell.any():
        out[ell] = radius[ell] * np.sqrt(p1[ell]) * p2[ell] ** (-1 / 3)
    rod = kind == ROD
    if rod.any():
        rho = radius[rod] * (4 / 3 / (p1[rod] + 4 / 3)) ** (1 / 3)
        out[rod] = rho * (1 + p1[rod] / 2)
    pri = kind == PRISM
    if pri.any():
        sides = p2[pri]
        base = sides / 2 * np.sin(2 * np.pi / sides)
        out[pri] = (4 / 3 * np.pi * radius[pri] ** 3 / (base * p1[pri])) ** (1 / 3)
    for ratio in np.unique(p1[kind == POLYHEDRON]):
        sel = (kind == POLYHEDRON) & (p1 == ratio)
        unit = unit_polyhedron(float(ratio))
        out[sel] = (4 / 3 * np.pi / unit.volume) ** (1 / 3) * radius[sel] * unit.circumradius
    return out


def semi_axes(kind: int, radius: float, p1: float, p2: float) -> tuple[float, float, float]:
    """Return the half extents (a >= b in-plane, c along the beam) of the unrotated shape."""
    if kind == SPHERE:
        return radius, radius, radius
    if kind == ELLIPSOID:
        return ellipsoid_axes(radius, p1, p2)
    if kind == ROD:
        rho, length = rod_dimensions(radius, p1)
        return rho + length / 2, rho, rho
    if kind == PRISM:
        rho, height = prism_dimensions(radius, p1, int(p2))
        return rho, rho * math.cos(math.pi / int(p2)), height / 2
    e = polyhedron_scale(radius, p1) * unit_polyhedron(p1).half_extent
    return e, e, e


def semi_axes_batch(
    kind: np.ndarray, radius: np.ndarray, p1: np.ndarray, p2: np.ndarray
) -> np.ndarray:
    """Return :func:`semi_axes` for arrays of particles as an (n, 3) array (same unit as radius)."""
    radius = np.asarray(radius, dtype=np.float64)
    out = np.repeat(radius[:, None], 3, axis=1)
    ell = kind == ELLIPSOID
    if ell.any():
        a = radius[ell] * np.sqrt(p1[ell]) * p2[ell] ** (-1 / 3)
        b = a / p1[ell]
        out[ell] = np.column_stack([a, b, p2[ell] * np.sqrt(a * b)])
    rod = kind == ROD
    if rod.any():
        rho = radius[rod] * (4 / 3 / (p1[rod] + 4 / 3)) ** (1 / 3)
        out[rod] = np.column_stack([rho * (1 + p1[rod] / 2), rho, rho])
    pri = kind == PRISM
    if pri.any():
        sides = p2[pri]
        base = sides / 2 * np.sin(2 * np.pi / sides)
        rho = (4 / 3 * np.pi * radius[pri] ** 3 / (base * p1[pri])) ** (1 / 3)
        out[pri] = np.column_stack([rho, rho * np.cos(np.pi / sides), p1[pri] * rho / 2])
    for ratio in np.unique(p1[kind == POLYHEDRON]):
        sel = (kind == POLYHEDRON) & (p1 == ratio)
        unit = unit_polyhedron(float(ratio))
        e = (4 / 3 * np.pi / unit.volume) ** (1 / 3) * radius[sel] * unit.half_extent
        out[sel] = e[:, None]
    return out


def thickness(
    kind: int,
    radius: float,
    p1: float,
    p2: float,
    theta: float,
    q: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
) -> np.ndarray:
    """Return the projected thickness (px) of one particle at offsets (dx, dy) (px, broadcastable)."""
    shape = np.broadcast_shapes(np.shape(dx), np.shape(dy))
    dx = np.broadcast_to(dx, shape)[None]
    dy = np.broadcast_to(dy, shape)[None]
    one = np.ones(1)
    t = thickness_batch(
        kind, radius * one, p1 * one, p2 * one, theta * one, np.asarray(q)[None], dx, dy
    )
    return t[0]


def thickness_batch(
    kind: int,
    radius: np.ndarray,
    p1: np.ndarray,
    p2: np.ndarray,
    theta: np.ndarray,
    q: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
) -> np.ndarray:
    """Return projected thickness (px), float32 (n, h, w), of n particles of one ``kind``.

    radius, p1, p2, theta: (n,); q: (n, 4); dx, dy: offsets from each centre (px), broadcastable to
    (n, h, w) (e.g. (n, 1, w) and (n, h, 1)).
    """
    f32 = np.float32
    col = (slice(None), None, None)
    dx = np.asarray(dx, dtype=f32)
    dy = np.asarray(dy, dtype=f32)
    if kind == SPHERE:
        r = radius.astype(f32)[col]
        return f32(2.0) * np.sqrt(np.maximum(r * r - dx * dx - dy * dy, f32(0.0)))
    if kind == POLYHEDRON:
        return _polyhedron_batch(radius, p1, q, dx, dy)
    c, s = np.cos(theta).astype(f32)[col], np.sin(theta).astype(f32)[col]
    u = dx * c + dy * s
    v = dy * c - dx * s
    if kind == ELLIPSOID:
        a = radius * np.sqrt(p1) * p2 ** (-1 / 3)
        b = a / p1
        cz = p2 * np.sqrt(a * b)
        u *= (1 / a).astype(f32)[col]
        v *= (1 / b).astype(f32)[col]
        return (
            f32(2.0) * cz.astype(f32)[col] * np.sqrt(np.maximum(f32(1.0) - u * u - v * v, f32(0)))
        )
    if kind == ROD:
        rho = radius * (4 / 3 / (p1 + 4 / 3)) ** (1 / 3)
        half = (p1 * rho / 2).astype(f32)[col]
        along = u - np.clip(u, -half, half)
        rho2 = (rho * rho).astype(f32)[col]
        return f32(2.0) * np.sqrt(np.maximum(rho2 - along * along - v * v, f32(0)))
    # regular p2-gons: 6 edge normals per particle (a triangle or square repeats its own, which
    # does not change the polygon), all particles at once
    sides = p2.astype(int)
    base = sides / 2 * np.sin(2 * np.pi / sides)
    rho = (4 / 3 * np.pi * radius**3 / (base * p1)) ** (1 / 3)
    apothem = (rho * np.cos(np.pi / sides)).astype(f32)
    phi = 2 * np.pi * (np.arange(6)[None, :] % sides[:, None]) / sides[:, None]  # (n, 6)
    cos = np.cos(phi).astype(f32)[:, :, None, None]
    sin = np.sin(phi).astype(f32)[:, :, None, None]
    reach = u[:, None] * cos + v[:, None] * sin  # (n, 6, h, w)
    inside = reach.max(axis=1) <= apothem[col]
    out = np.where(inside, (p1 * rho).astype(f32)[col], f32(0))
    return out


def quaternion_matrices(q: np.ndarray) -> np.ndarray:
    """Return (n, 3, 3) rotation matrices of (n, 4) quaternions (w, x, y, z)."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def _polyhedron_batch(
    radius: np.ndarray, ratio: np.ndarray, q: np.ndarray, dx: np.ndarray, dy: np.ndarray
) -> np.ndarray:
    """Return the beam path length (px) through rotated centrally symmetric polyhedra, (n, h, w).

    For a facet pair +-n at distance d the beam x + z e_z is inside for |n.x + n_z z| <= d, i.e.
    between -(e + w) and (e - w) with e = d / |n_z| and w = sign(n_z) n_xy.x / |n_z|; the path
    length is min(e - w) + min(e + w) over the 7 pairs, for all particles at once.
    """
    n, h, w = np.broadcast_shapes(dx.shape, dy.shape)
    units = [unit_polyhedron(float(r)) for r in ratio]
    normals_unit = units[0].normals  # the same 7 directions for every ratio
    distances = np.array([u.distances for u in units])  # (n, 7)
    volumes = np.array([u.volume for u in units])
    scale = (4 / 3 * math.pi * radius**3 / volumes) ** (1 / 3)
    normals = np.einsum("mk,njk->nmj", normals_unit, quaternion_matrices(q))  # (n, 7, 3)
    nz = normals[:, :, 2]
    inv = 1.0 / np.maximum(np.abs(nz), _EPS)
    e = (distances * scale[:, None] * inv)[:, :, None].astype(np.float32)
    ax = (np.sign(nz) * normals[:, :, 0] * inv)[:, :, None].astype(np.float32)
    ay = (np.sign(nz) * normals[:, :, 1] * inv)[:, :, None].astype(np.float32)
    xs = np.broadcast_to(dx, (n, h, w)).reshape(n, 1, h * w)
    ys = np.broadcast_to(dy, (n, h, w)).reshape(n, 1, h * w)
    wv = ax * xs
    wv += ay * ys  # (n, 7, h w)
    path = (e - wv).min(axis=1)
    wv += e
    path += wv.min(axis=1)
    np.maximum(path, np.float32(0.0), out=path)
    return path.reshape(n, h, w)


def random_quaternions(n: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` uniformly random unit quaternions (n, 4)."""
    q = rng.standard_normal((n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)
