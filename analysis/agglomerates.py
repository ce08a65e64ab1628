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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
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
        pairs = np.column_stack([near.source[forward], near.target[forward]])
    else:
        tree = tree if tree is not None else cKDTree(np.column_stack([x, y]))
        pairs = tree.query_pairs(reach, output_type="ndarray")
    dx, dy = x[pairs[:, 0]] - x[pairs[:, 1]], y[pairs[:, 0]] - y[pairs[:, 1]]
    d = np.sqrt(dx * dx + dy * dy)
    close = d - radius[pairs[:, 0]] - radius[pairs[:, 1]] <= gap_px
    return pairs[close].astype(np.intp)


def contact_links(group: np.ndarray) -> np.ndarray:
    """Links joining every particle to the first particle of its contact group, as (m, 2) intp."""
    _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    head = first[inverse]
    members = np.flatnonzero(head != np.arange(group.size))
    return np.column_stack([head[members], members]).astype(np.intp)


def _components(n: int, links: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(links.shape[0]), (links[:, 0], links[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _topology(n: int, links: np.ndarray, ring_min: int) -> dict[str, float | int]:
    """Chain and ring counts from the components of the gap-link graph."""
    component = _components(n, links)
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
    links = gaps
    if "contact_group" in table:
        links = np.concatenate([gaps, contact_links(np.asarray(table["contact_group"]))])
    component = _components(n, links)
    size = np.bincount(component)
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
    out.update(_topology(n, gaps, ring_min))
    return out
