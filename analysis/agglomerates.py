"""Agglomerates, chains and rings: connected groups in the graph of touching or nearly touching particles.

Graph: particles i and j are linked when their pixels touch (same ``contact_group`` in the particle table,
8-adjacency) or when the gap between their equivalent circles, d_ij - r_i - r_j (centroid distance minus
both equivalent radii), is at most ``gap_px``. An agglomerate is a connected component of two or more
particles.

Ordering (topology of the gap links only, which join touching round particles too): a component of
three or more particles whose links form a simple path (n - 1 links, no particle with more than two) is a
chain; one whose links form a single closed cycle (n links, every particle with exactly two) of at least
``ring_min_particles`` particles is a ring, the circular formations seen in the seed paper.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from .pointpattern import WeightedPairs

SIZE_HISTOGRAM_MAX = 10  # agglomerate sizes 2 .. 9 in their own bins, 10 or more in the last


def gap_links(
    x: np.ndarray,
    y: np.ndarray,
    radius: np.ndarray,
    gap_px: float,
    tree: cKDTree | None = None,
    near: WeightedPairs | None = None,
) -> np.ndarray:
    """Pairs (i, j), i < j, whose equivalent circles are at most ``gap_px`` apart, as (m, 2) intp.

    ``tree`` (KD-tree of the points) and ``near`` (all ordered pairs within some radius) are reused
    when given; ``near`` only when its radius covers every possible link."""
    if x.size < 2:
        return np.zeros((0, 2), dtype=np.intp)
    reach = 2.0 * float(radius.max()) + gap_px
    if near is not None and reach <= near.max_radius:
        forward = near.source < near.target
        first, second, d = near.source[forward], near.target[forward], near.distance[forward]
    else:
        tree = tree if tree is not None else cKDTree(np.column_stack([x, y]))
        pairs = tree.query_pairs(reach, output_type="ndarray")
        first, second = pairs[:, 0], pairs[:, 1]
        dx, dy = x[first] - x[second], y[first] - y[second]
        d = np.sqrt(dx * dx + dy * dy)
    close = d - radius[first] - radius[second] <= gap_px
    return np.column_stack([first[close], second[close]]).astype(np.intp)


def contact_links(group: np.ndarray) -> np.ndarray:
    """Links joining every particle to the first particle of its contact group, as (m, 2) intp."""
    _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    head = first[inverse]
    members = np.flatnonzero(head != np.arange(group.size))
    return np.column_stack([head[members], members]).astype(np.intp)


def _roots(n: int, links: np.ndarray, parent: np.ndarray | None = None) -> np.ndarray:
    """Smallest particle index of the connected component of every particle (graph of ``links``,
    added to the forest ``parent`` when given: an array of roots, parent[i] <= i).

    Vectorised union-find: every round hooks the larger root of each link that still joins two trees
    onto the smaller one, then jumps pointers until every particle points at its root. Pointers only
    ever go to smaller indices, so no cycle forms, and each round removes at least one root."""
    parent = np.arange(n) if parent is None else parent.copy()
    u, v = links[:, 0], links[:, 1]
    while u.size:
        pu, pv = parent[u], parent[v]
        apart = pu != pv
        if not apart.any():
            break
        u, v, pu, pv = u[apart], v[apart], pu[apart], pv[apart]
        np.minimum.at(parent, np.maximum(pu, pv), np.minimum(pu, pv))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def _component_ids(roots: np.ndarray) -> np.ndarray:
    """Component number 0, 1, ... of every particle, numbered in order of their smallest particle
    (as scipy's ``connected_components`` numbers them)."""
    is_root = roots == np.arange(roots.size)
    return (np.cumsum(is_root) - 1)[roots]


def _components(n: int, links: np.ndarray) -> np.ndarray:
    """Component number of every particle in the graph of ``links`` (see :func:`_component_ids`)."""
    return _component_ids(_roots(n, links))


def _topology(
    n: int, links: np.ndarray, roots: np.ndarray, ring_min: int
) -> dict[str, float | int]:
    """Chain and ring counts from the components (``roots``, see :func:`_roots`) of the gap-link
    graph ``links``."""
    component = _component_ids(roots)
    n_comp = int(component.max()) + 1
    size = np.bincount(component, minlength=n_comp)
    degree = np.bincount(links.ravel(), minlength=n)
    n_links = (
        np.bincount(component[links[:, 0]], minlength=n_comp) if links.size else np.zeros(n_comp)
    )
    max_degree = np.zeros(n_comp, dtype=np.int64)
    np.maximum.at(max_degree, component, degree)
    min_degree = np.full(n_comp, np.iinfo(np.int64).max)
    np.minimum.at(min_degree, component, degree)
    chain = (size >= 3) & (n_links == size - 1) & (max_degree <= 2)
    ring = (size >= ring_min) & (n_links == size) & (max_degree == 2) & (min_degree == 2)
    return {
        "chain_count": int(chain.sum()),
        "chain_particle_fraction": float(size[chain].sum() / n),
        "chain_length_mean": float(size[chain].mean()) if chain.any() else math.nan,
        "ring_count": int(ring.sum()),
        "ring_particle_fraction": float(size[ring].sum() / n),
        "ring_size_mean": float(size[ring].mean()) if ring.any() else math.nan,
    }


def agglomerate_metrics(
    table: dict[str, np.ndarray],
    gap_px: float,
    ring_min: int,
    tree: cKDTree | None = None,
    near: WeightedPairs | None = None,
) -> dict:
    """Agglomerate, chain and ring metrics of a particle table (see module docstring); ``tree`` and
    ``near`` are reused by :func:`gap_links` when given."""
    x = np.asarray(table["x"], dtype=np.float64)
    y = np.asarray(table["y"], dtype=np.float64)
    n = x.size
    if n == 0:
        nan = math.nan
        return {
            "agglomerate_count": 0,
            "agglomerate_particle_fraction": nan,
            "contact_particle_fraction": nan,
            "agglomerate_size_mean": nan,
            "agglomerate_size_max": 0,
            "agglomerate_size_histogram_counts": [0] * (SIZE_HISTOGRAM_MAX - 1),
            "chain_count": 0,
            "chain_particle_fraction": nan,
            "chain_length_mean": nan,
            "ring_count": 0,
            "ring_particle_fraction": nan,
            "ring_size_mean": nan,
        }
    radius = 0.5 * np.asarray(table["diameter_equivalent_px"], dtype=np.float64)
    gaps = gap_links(x, y, radius, gap_px, tree, near)
    gap_roots = _roots(n, gaps)
    roots = gap_roots
    if "contact_group" in table:
        group = np.asarray(table["contact_group"])
        contacts = table.get("contact_count")
        if contacts is not None:  # particles touching none are alone in their group: no links
            touching = np.flatnonzero(np.asarray(contacts) > 0)
            links = touching[contact_links(group[touching])]
        else:
            links = contact_links(group)
        roots = _roots(n, links, gap_roots)
    size = np.bincount(roots)
    groups = size[size >= 2]
    histogram = np.bincount(
        np.minimum(groups, SIZE_HISTOGRAM_MAX) - 2, minlength=SIZE_HISTOGRAM_MAX - 1
    )
    contacts = table.get("contact_count")
    out: dict = {
        "agglomerate_count": int(groups.size),
        "agglomerate_particle_fraction": float(groups.sum() / n),
        "contact_particle_fraction": float(np.mean(np.asarray(contacts) > 0))
        if contacts is not None
        else math.nan,
        "agglomerate_size_mean": float(groups.mean()) if groups.size else math.nan,
        "agglomerate_size_max": int(groups.max()) if groups.size else 0,
        "agglomerate_size_histogram_counts": [int(c) for c in histogram],
    }
    out.update(_topology(n, gaps, gap_roots, ring_min))
    return out
