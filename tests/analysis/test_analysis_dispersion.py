"""frame_metrics: point patterns with known answers, agglomerates, rings and chains, degenerate frames."""

from __future__ import annotations

import math

import msgpack
import numpy as np
import pytest
from nanolive.analysis import MetricsConfig, frame_metrics, particle_table
from nanolive.analysis.pointpattern import Window, nearest_neighbour_distances, weighted_pairs
from nanolive.analysis.tessellation import voronoi_areas
from scipy.spatial import Delaunay, Voronoi, cKDTree

SHAPE = (512, 512)


def point_table(x: np.ndarray, y: np.ndarray, diameter_px: float = 2.0) -> dict[str, np.ndarray]:
    """A particle table of small round particles at (x, y), px."""
    n = x.size
    return {
        "x": x,
        "y": y,
        "area_px": np.full(n, np.pi * diameter_px**2 / 4),
        "diameter_equivalent_px": np.full(n, diameter_px),
        "touches_edge": np.zeros(n, dtype=bool),
    }


def disc_labels(centres: np.ndarray, radius: float, shape: tuple[int, int] = SHAPE) -> np.ndarray:
    """Label image with one disc (labels 1..n) at every (x, y) centre."""
    lab = np.zeros(shape, dtype=np.int32)
    for k, (cx, cy) in enumerate(centres, start=1):
        r0, r1 = int(max(cy - radius - 1, 0)), int(min(cy + radius + 2, shape[0]))
        c0, c1 = int(max(cx - radius - 1, 0)), int(min(cx + radius + 2, shape[1]))
        yy, xx = np.mgrid[r0:r1, c0:c1]
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2
        lab[r0:r1, c0:c1][inside] = k
    return lab


def hexagonal_lattice(spacing: float, shape: tuple[int, int] = SHAPE) -> np.ndarray:
    rows = np.arange(spacing / 2, shape[0] - spacing / 2, spacing * np.sqrt(3) / 2)
    pts = [
        (x, y)
        for i, y in enumerate(rows)
        for x in np.arange(spacing / 2 + (i % 2) * spacing / 2, shape[1] - spacing / 2, spacing)
    ]
    return np.array(pts)


def test_hexagonal_lattice_is_regular_and_ordered() -> None:
    centres = hexagonal_lattice(20.0)
    lab = disc_labels(centres, 4.0)
    m = frame_metrics(particle_table(lab, pixel_size_nm=0.5), SHAPE, 0.5)
    assert m["count"] == len(centres)
    assert m["clark_evans_r"] > 1.8  # 2.15 is the hexagonal maximum
    assert m["clark_evans_z"] > 10 and m["clark_evans_p"] < 1e-6
    assert m["nn_distance_mean_nm"] == pytest.approx(10.0, abs=0.1)
    assert m["besag_l_minus_r_0p5s_nm"] < -m["besag_l_band_nm"]  # inhibition at short range
    assert m["pair_correlation_below_0p5s"] == 0.0
    assert m["pair_correlation_peak_radius_nm"] == pytest.approx(10.0, rel=0.1)
    assert m["bond_order_psi6_mean"] > 0.95
    assert m["voronoi_area_cv"] < 0.05
    assert m["agglomerate_count"] == 0
    assert m["diameter_equivalent_cv"] < 0.02


def test_poisson_process_is_random() -> None:
    """Complete spatial randomness: R ~ 1 with ~5 % false alarms, L(r) - r inside its 95 % band."""
    rng = np.random.default_rng(2024)
    r_values, significant, inside_band, l_minus_r = [], 0, [], []
    n_runs = 40
    for _ in range(n_runs):
        n = rng.poisson(250)
        x = rng.uniform(-0.5, SHAPE[1] - 0.5, n)
        y = rng.uniform(-0.5, SHAPE[0] - 0.5, n)
        m = frame_metrics(point_table(x, y), SHAPE)
        r_values.append(m["clark_evans_r"])
        significant += m["clark_evans_p"] < 0.05
        deviations = [m[f"besag_l_minus_r_{k}_px"] for k in ("0p5s", "1s", "2s")]
        inside_band.append(all(abs(d) <= m["besag_l_band_px"] for d in deviations))
        l_minus_r.append(np.array(deviations) / m["besag_l_band_px"])
    assert np.mean(r_values) == pytest.approx(1.0, abs=0.02)
    assert significant <= 0.15 * n_runs
    assert np.mean(inside_band) >= 0.85
    # edge correction leaves no bias: the mean deviation is a small fraction of the band
    assert np.all(np.abs(np.mean(l_minus_r, axis=0)) < 0.25)


def test_clustered_process() -> None:
    """Thomas process: R < 1 significantly, L(r) - r above the band at one spacing."""
    rng = np.random.default_rng(5)
    parents = rng.uniform(40, 472, (12, 2))
    pts = np.concatenate([p + rng.normal(0, 6.0, (20, 2)) for p in parents])
    m = frame_metrics(point_table(pts[:, 0], pts[:, 1]), SHAPE)
    assert m["clark_evans_r"] < 0.6 and m["clark_evans_p"] < 1e-6
    assert m["besag_l_minus_r_1s_px"] > m["besag_l_band_px"]
    assert m["pair_correlation_below_0p5s"] > 2.0


def test_agglomerates_of_touching_particles_are_found() -> None:
    rng = np.random.default_rng(9)
    centres = []
    seeds = hexagonal_lattice(100.0)[:9] + rng.uniform(-10, 10, (9, 2))
    patch = hexagonal_lattice(8.6, (40, 40)) - 20  # hexagonal patch, discs of radius 4 nearly touch
    patch = patch[np.hypot(patch[:, 0], patch[:, 1]) < 10]
    for s in seeds:
        centres.extend(s + patch)
    singles = np.array([[450.0, 450.0], [450.0, 300.0], [300.0, 450.0]])
    centres = np.concatenate([np.array(centres), singles])
    lab = disc_labels(centres, 4.0)
    m = frame_metrics(particle_table(lab), SHAPE)
    assert m["agglomerate_count"] == 9
    assert m["agglomerate_particle_fraction"] == pytest.approx(1 - 3 / len(centres))
    assert m["agglomerate_size_max"] == len(patch)
    assert m["clark_evans_r"] < 1.0


def test_touching_irregular_particles_join_through_contacts() -> None:
    """Two long rods touching end to side: their equivalent circles are far apart, the pixels touch."""
    lab = np.zeros((64, 64), dtype=np.int32)
    lab[10, 5:45] = 1
    lab[11:50, 44] = 2
    m = frame_metrics(particle_table(lab), lab.shape, config=MetricsConfig(agglomerate_gap_px=0.0))
    assert m["agglomerate_count"] == 1 and m["agglomerate_particle_fraction"] == 1.0
    assert m["contact_particle_fraction"] == 1.0


def ring_centres(n: int, gap: float, radius: float, centre: tuple[float, float]) -> np.ndarray:
    ring_radius = (2 * radius + gap) / (2 * np.sin(np.pi / n))
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack(
        [centre[0] + ring_radius * np.cos(t), centre[1] + ring_radius * np.sin(t)]
    )


def test_rings_and_chains_are_recognised() -> None:
    ring = ring_centres(12, 1.0, 4.0, (150.0, 150.0))
    chain = np.column_stack([np.arange(6) * 9.0 + 300.0, np.full(6, 350.0)])
    cluster = hexagonal_lattice(9.0, (40, 40)) + 380.0  # compact blob: neither ring nor chain
    lone = np.array([[60.0, 450.0]])
    lab = disc_labels(np.concatenate([ring, chain, cluster, lone]), 4.0)
    m = frame_metrics(particle_table(lab), SHAPE)
    n = m["count"]
    assert m["ring_count"] == 1 and m["ring_size_mean"] == 12
    assert m["chain_count"] == 1 and m["chain_length_mean"] == 6
    assert m["ring_particle_fraction"] == pytest.approx(12 / n)
    assert m["agglomerate_count"] == 3


def test_voronoi_areas_match_scipy_voronoi() -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 100, (60, 2))
    tri = Delaunay(pts)
    ours = voronoi_areas(pts, tri)
    vor = Voronoi(pts)
    checked = 0
    for i, region_index in enumerate(vor.point_region):
        region = vor.regions[region_index]
        if -1 in region or not region:
            continue
        poly = vor.vertices[region]
        if poly.min() < 0 or poly.max() > 100:
            continue
        area = 0.5 * abs(
            np.dot(poly[:, 0], np.roll(poly[:, 1], 1)) - np.dot(poly[:, 1], np.roll(poly[:, 0], 1))
        )
        assert ours[i] == pytest.approx(area, rel=1e-9)
        checked += 1
    assert checked > 20


def test_circle_fraction_inside_matches_sampling() -> None:
    window = Window(100, 60)
    rng = np.random.default_rng(4)
    x = rng.uniform(-0.5, 59.5, 200)
    y = rng.uniform(-0.5, 99.5, 200)
    r = rng.uniform(0.5, 30.0, 200)
    ours = window.circle_fraction_inside(x, y, r)
    t = np.linspace(0, 2 * np.pi, 20000, endpoint=False)
    px = x[:, None] + r[:, None] * np.cos(t)
    py = y[:, None] + r[:, None] * np.sin(t)
    sampled = ((px >= -0.5) & (px <= 59.5) & (py >= -0.5) & (py <= 99.5)).mean(axis=1)
    assert ours == pytest.approx(sampled, abs=2e-4)


def test_size_statistics_exclude_edge_particles_and_use_fixed_bins() -> None:
    lab = np.zeros((100, 100), dtype=np.int32)
    lab[40:50, 40:50] = 1
    lab[0:30, 0:30] = 2  # cut by the edge: counted, not sized
    m = frame_metrics(particle_table(lab, pixel_size_nm=2.0), lab.shape, 2.0)
    assert m["count"] == 2 and m["count_edge"] == 1
    d = 2 * np.sqrt(100 / np.pi) * 2.0
    assert m["diameter_equivalent_mean_nm"] == pytest.approx(d)
    assert m["diameter_equivalent_d50_nm"] == pytest.approx(d)
    edges = m["diameter_equivalent_histogram_edges_nm"]
    counts = m["diameter_equivalent_histogram_counts"]
    assert len(counts) == len(edges) - 1 and sum(counts) == 1
    k = counts.index(1)
    assert edges[k] <= d < edges[k + 1]
    assert m["coverage_fraction"] == pytest.approx(1000 / 10000)
    assert m["density_per_um2"] == pytest.approx(2 / (100 * 100 * 0.002**2))


FRAMES = {
    "empty": np.zeros((64, 64), dtype=np.int32),
    "one-particle": np.pad(np.ones((5, 5), dtype=np.int32), 20),
    "one-pixel": np.pad(np.ones((1, 1), dtype=np.int32), 20),
    "two-particles": np.pad(np.eye(2, dtype=np.int32) * np.array([[1, 0], [0, 2]]), 20),
    "three-collinear": np.pad(np.array([[1, 0, 2, 0, 3]], dtype=np.int32), 20),
    "all-on-edge": np.ones((16, 16), dtype=np.int32),
    "four-corners": np.pad(np.ones((1, 1), dtype=np.int32), ((0, 9), (0, 9)))
    + np.pad(2 * np.ones((1, 1), dtype=np.int32), ((9, 0), (0, 9)))
    + np.pad(3 * np.ones((1, 1), dtype=np.int32), ((0, 9), (9, 0)))
    + np.pad(4 * np.ones((1, 1), dtype=np.int32), ((9, 0), (9, 0))),
}


@pytest.mark.parametrize("pixel_size_nm", [None, 0.7])
def test_degenerate_frames_give_defined_plain_output(pixel_size_nm: float | None) -> None:
    keys = None
    for name, lab in FRAMES.items():
        m = frame_metrics(
            particle_table(lab, lab.astype(float), pixel_size_nm), lab.shape, pixel_size_nm
        )
        assert m["count"] == len(np.unique(lab[lab > 0])), name
        for key, value in m.items():
            assert type(value) in (int, float, list), (name, key, type(value))
            if isinstance(value, list):
                assert all(type(v) in (int, float) for v in value), (name, key)
        assert msgpack.unpackb(msgpack.packb(m)).keys() == m.keys()
        keys = keys or set(m)
        assert set(m) == keys, name  # the schema does not depend on the content of the frame
    if pixel_size_nm is None:
        assert "density_per_um2" not in keys and "diameter_equivalent_mean_px" in keys
    else:
        assert "density_per_um2" in keys and "diameter_equivalent_mean_nm" in keys


def test_empty_frame_values() -> None:
    m = frame_metrics(particle_table(np.zeros((32, 32), dtype=np.int32)), (32, 32))
    assert m["count"] == 0 and m["coverage_fraction"] == 0.0 and m["density_per_px2"] == 0.0
    assert math.isnan(m["clark_evans_r"]) and math.isnan(m["diameter_equivalent_mean_px"])
    assert m["agglomerate_count"] == 0


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [((0, 10), {}), ((10,), {}), ((10, 10), {"pixel_size_nm": -1.0})],
)
def test_bad_arguments_raise(shape: tuple, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        frame_metrics(point_table(np.zeros(1), np.zeros(1)), shape, **kwargs)


def test_missing_columns_raise() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        frame_metrics({"x": np.zeros(1)}, (10, 10))


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        MetricsConfig(agglomerate_gap_px=-1.0)
    with pytest.raises(ValueError):
        MetricsConfig(ring_min_particles=2)


def test_tessellation_can_be_skipped_without_changing_the_schema() -> None:
    rng = np.random.default_rng(8)
    table = point_table(rng.uniform(0, 511, 200), rng.uniform(0, 511, 200))
    full = frame_metrics(table, SHAPE)
    lean = frame_metrics(table, SHAPE, config=MetricsConfig(tessellation=False))
    assert set(full) == set(lean)
    assert math.isnan(lean["voronoi_area_cv"]) and not math.isnan(full["voronoi_area_cv"])
    assert 0.4 < full["voronoi_area_cv"] < 0.65  # Poisson-Voronoi cells: CV ~ 0.53
    assert lean["clark_evans_r"] == full["clark_evans_r"]


def test_minimal_table_from_another_source_is_accepted() -> None:
    """Only the contract columns (x, y, area_px, diameter_equivalent_px, touches_edge) are required."""
    m = frame_metrics(
        point_table(np.array([10.0, 50.0, 90.0]), np.array([10.0, 60.0, 20.0])), (100, 100)
    )
    assert m["count"] == 3 and math.isnan(m["circularity_mean"])
    assert set(m) == set(
        frame_metrics(particle_table(np.zeros((5, 5), dtype=np.int32)), (100, 100))
    )


def test_histogram_helpers() -> None:
    from nanolive.analysis import histogram_edges, size_histogram

    edges = histogram_edges("nm")
    assert edges[0] == pytest.approx(0.1) and edges[-1] == pytest.approx(1e4) and len(edges) == 51
    counts = size_histogram(np.array([0.01, 1.0, 5.0, 5.1, 1e6, np.nan]), "nm")
    assert sum(counts) == 5 and counts[0] == 1 and counts[-1] == 1
    with pytest.raises(ValueError):
        histogram_edges("um")


def test_duplicate_centroids_do_not_create_empty_voronoi_cells() -> None:
    """A ring-shaped particle around a small one shares its centroid: no zero-area cell may enter."""
    pts = hexagonal_lattice(40.0)
    x = np.r_[pts[:, 0], pts[40, 0]]
    y = np.r_[pts[:, 1], pts[40, 1]]
    m = frame_metrics(point_table(x, y), SHAPE)
    assert m["voronoi_area_cv"] < 0.05 and m["bond_order_psi6_mean"] > 0.95


def test_nearest_neighbours_from_pairs_match_a_direct_search() -> None:
    rng = np.random.default_rng(12)
    x, y = rng.uniform(0, 300, 80), rng.uniform(0, 200, 80)
    x[0], y[0] = 299.0, 199.0  # an isolated corner point outside every short pair
    tree = cKDTree(np.column_stack([x, y]))
    window = Window(200, 300)
    pairs = weighted_pairs(tree, x, y, window, 12.0)
    direct = tree.query(tree.data, k=2)[0][:, 1]
    assert nearest_neighbour_distances(tree, 80, pairs) == pytest.approx(direct, abs=1e-12)


def test_gap_links_reusing_pairs_equal_a_fresh_search() -> None:
    from nanolive.analysis.agglomerates import gap_links

    rng = np.random.default_rng(21)
    x, y = rng.uniform(0, 200, 150), rng.uniform(0, 200, 150)
    radius = rng.uniform(1, 5, 150)
    tree = cKDTree(np.column_stack([x, y]))
    near = weighted_pairs(tree, x, y, Window(200, 200), 14.0)
    fresh = gap_links(x, y, radius, 2.0)
    reused = gap_links(x, y, radius, 2.0, tree, near)
    assert len(fresh) > 10
    assert sorted(map(tuple, fresh)) == sorted(map(tuple, reused))


def test_density_uses_the_unbiased_counting_frame() -> None:
    """Particles cut by the top or left edge count, those cut by the bottom or right edge do not."""
    lab = np.zeros((100, 100), dtype=np.int32)
    lab[0:5, 40:45] = 1  # top edge: counted
    lab[40:45, 0:5] = 2  # left edge: counted
    lab[95:100, 40:45] = 3  # bottom edge: not counted
    lab[40:45, 95:100] = 4  # right edge: not counted
    lab[50:55, 50:55] = 5  # interior: counted
    m = frame_metrics(particle_table(lab), lab.shape)
    assert m["count"] == 5 and m["count_edge"] == 4
    assert m["density_per_px2"] == pytest.approx(3 / 10000)
