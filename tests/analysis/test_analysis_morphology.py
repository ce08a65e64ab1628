"""particle_table: known shapes, a naive hull reference, scikit-image regionprops, degenerate input.

Pixelisation limits (measured over random sub-pixel centres and orientations, radii 2..40 px): a digital
shape's extreme pixel centres lie within one pixel of its true outline, so Feret diameters and bounding
extents are good to about +-1 px; the equivalent diameter integrates over the whole area and is good to
+-0.45 px; moment axes to +-0.7 px; Crofton circularity of discs to 6 % at radius 5 px, 2 % at 10 px.
"""

from __future__ import annotations

import numpy as np
import pytest
from nanolive.analysis import particle_table
from scipy.spatial import ConvexHull, QhullError
from skimage.measure import regionprops


def ellipse_labels(a: float, b: float, angle: float, cx: float, cy: float, size: int) -> np.ndarray:
    """Label 1 on pixel centres inside the ellipse with semi-axes a (along angle from +x) and b."""
    yy, xx = np.mgrid[:size, :size].astype(float)
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
    return ((u / a) ** 2 + (v / b) ** 2 <= 1.0).astype(np.int32)


def random_shape(rng: np.random.Generator, size: int) -> np.ndarray:
    """A single connected irregular blob (union of a few ellipses), label 1."""
    out = np.zeros((size, size), dtype=np.int32)
    c = size / 2
    for _ in range(4):
        a, b = rng.uniform(2, size / 4, 2)
        out |= ellipse_labels(
            a, b, rng.uniform(0, np.pi), c + rng.normal(0, 3), c + rng.normal(0, 3), size
        )
    return out


@pytest.mark.parametrize("radius", [3.0, 5.0, 10.0, 25.0])
def test_disc_sizes_and_shape(radius: float) -> None:
    rng = np.random.default_rng(int(radius))
    for _ in range(8):
        size = int(2 * radius + 8)
        lab = ellipse_labels(
            radius, radius, 0.0, size / 2 + rng.random(), size / 2 + rng.random(), size
        )
        t = particle_table(lab)
        d = 2 * radius
        assert abs(t["area_px"][0] - np.pi * radius**2) <= 2.5 * radius  # boundary band
        assert abs(t["diameter_equivalent_px"][0] - d) <= 0.45
        assert d - 0.3 <= t["diameter_feret_max_px"][0] <= d + 1.0
        assert d - 1.05 <= t["diameter_feret_min_px"][0] <= d + 0.1
        assert abs(t["axis_major_px"][0] - d) <= 0.7 and abs(t["axis_minor_px"][0] - d) <= 0.7
        tol = {3.0: 0.1, 5.0: 0.06, 10.0: 0.03, 25.0: 0.012}[radius]
        assert abs(t["circularity"][0] - 1.0) <= tol
        assert t["convexity"][0] == pytest.approx(1.0)  # digital discs are digitally convex
        assert t["solidity"][0] > 1.0 - 0.6 / radius  # convex area counts the hull's boundary band
        assert t["aspect_ratio"][0] < 1.0 + 0.6 / radius


@pytest.mark.parametrize(("a", "b"), [(12.0, 6.0), (30.0, 10.0)])
def test_ellipse_axes_orientation_and_feret(a: float, b: float) -> None:
    rng = np.random.default_rng(7)
    for _ in range(8):
        angle = rng.uniform(-np.pi / 2, np.pi / 2)
        size = int(2 * a + 8)
        lab = ellipse_labels(a, b, angle, size / 2 + rng.random(), size / 2 + rng.random(), size)
        t = particle_table(lab)
        assert abs(t["axis_major_px"][0] - 2 * a) <= 0.7
        assert abs(t["axis_minor_px"][0] - 2 * b) <= 0.7
        assert abs(t["diameter_feret_max_px"][0] - 2 * a) <= 1.0
        assert abs(t["diameter_feret_min_px"][0] - 2 * b) <= 1.0
        err = (t["orientation_rad"][0] - angle + np.pi / 2) % np.pi - np.pi / 2
        assert abs(err) < np.radians(2.0)
        assert t["aspect_ratio"][0] == pytest.approx(a / b, rel=0.08)
        ramanujan = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))
        assert t["circularity"][0] == pytest.approx(
            4 * np.pi * np.pi * a * b / ramanujan**2, rel=0.03
        )
        assert t["eccentricity"][0] == pytest.approx(np.sqrt(1 - (b / a) ** 2), abs=0.02)


@pytest.mark.parametrize("pixel_size_nm", [0.25, 0.5, 1.0, 2.0])
def test_same_particle_at_several_pixel_scales(pixel_size_nm: float) -> None:
    """A 20 nm disc imaged at 0.25 .. 2 nm/px: nm sizes agree within the 0.45 px pixelisation limit."""
    radius_px = 10.0 / pixel_size_nm
    size = int(2 * radius_px + 8)
    lab = ellipse_labels(radius_px, radius_px, 0.0, size / 2 + 0.3, size / 2 + 0.6, size)
    t = particle_table(lab, pixel_size_nm=pixel_size_nm)
    assert abs(t["diameter_equivalent_nm"][0] - 20.0) <= 0.45 * pixel_size_nm
    assert abs(t["area_nm2"][0] - np.pi * 100.0) <= 2.5 * radius_px * pixel_size_nm**2
    assert abs(t["diameter_feret_max_nm"][0] - 20.0) <= 1.0 * pixel_size_nm
    assert "area_px" in t and "diameter_equivalent_px" in t


def test_columns_px_only_without_pixel_size() -> None:
    t = particle_table(ellipse_labels(5, 5, 0, 10, 10, 20))
    assert not any(k.endswith(("_nm", "_nm2")) for k in t)
    assert {"label", "x", "y", "area_px", "diameter_equivalent_px", "touches_edge"} <= set(t)


def awkward_shape(rng: np.random.Generator, kind: int) -> np.ndarray:
    """Shapes that stress a hull: blobs, rectangles (parallel edges), lines, scattered pixels."""
    n = int(rng.integers(3, 20))
    lab = np.zeros((n + 4, n + 4), dtype=np.int32)
    if kind == 0:
        return random_shape(rng, 48)
    if kind == 1:
        r0, c0 = rng.integers(2, n, 2)
        lab[r0 : r0 + rng.integers(1, 6), c0 : c0 + rng.integers(1, 6)] = 1
    elif kind == 2:
        k = int(rng.integers(1, n))
        lab[2 + np.arange(k), 2 + np.arange(k) * int(rng.integers(0, 2))] = 1
    elif kind == 3:
        pts = rng.integers(2, n + 2, (int(rng.integers(1, 5)), 2))
        lab[pts[:, 0], pts[:, 1]] = 1
    else:
        lab[2:-2, 2:-2] = rng.random((n, n)) < rng.uniform(0.05, 0.9)
    if not lab.any():
        lab[2, 2] = 1
    return lab


def naive_feret(lab: np.ndarray) -> tuple[float, float]:
    """Largest distance and smallest width of the pixel-centre hull, by brute force."""
    rows, cols = np.nonzero(lab)
    pts = np.column_stack([cols, rows]).astype(float)
    diff = pts[:, None, :] - pts[None, :, :]
    diameter = float(np.sqrt((diff**2).sum(-1)).max())
    try:
        hull = pts[ConvexHull(pts).vertices]
    except QhullError:  # fewer than 3 points or all collinear: zero width
        return diameter, 0.0
    edges = np.roll(hull, -1, axis=0) - hull
    widths = [
        np.abs(e[0] * (hull[:, 1] - p[1]) - e[1] * (hull[:, 0] - p[0])).max() / np.hypot(*e)
        for e, p in zip(edges, hull, strict=True)
    ]
    return diameter, float(min(widths))


def test_hull_matches_naive_reference() -> None:
    """Feret diameters equal brute force on scipy's ConvexHull (+1 px) and the convex area equals
    scikit-image's, on blobs, rectangles, lines and scattered pixels."""
    rng = np.random.default_rng(3)
    for trial in range(100):
        lab = awkward_shape(rng, trial % 5)
        t = particle_table(lab)
        diameter, width = naive_feret(lab)
        assert t["diameter_feret_max_px"][0] == pytest.approx(diameter + 1, abs=1e-9)
        assert t["diameter_feret_min_px"][0] == pytest.approx(width + 1, abs=1e-9)
        assert t["area_convex_px"][0] == regionprops(lab)[0].area_convex


def many_particles(rng: np.random.Generator, size: int = 256, n: int = 60) -> np.ndarray:
    """Label image with overlapping ellipses (later ones overwrite), labels 1..n, some touching."""
    lab = np.zeros((size, size), dtype=np.int32)
    yy, xx = np.mgrid[:size, :size].astype(float)
    for k in range(1, n + 1):
        cx, cy = rng.uniform(0, size, 2)
        a, b = rng.uniform(1, 12, 2)
        ang = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(ang) + (yy - cy) * np.sin(ang)
        v = -(xx - cx) * np.sin(ang) + (yy - cy) * np.cos(ang)
        lab[(u / a) ** 2 + (v / b) ** 2 <= 1.0] = k
    return lab


def test_agrees_with_regionprops() -> None:
    rng = np.random.default_rng(11)
    lab = many_particles(rng)
    image = rng.normal(100.0, 5.0, lab.shape) + 40.0 * (lab > 0)
    t = particle_table(lab, image)
    props = regionprops(lab, intensity_image=image)
    assert list(t["label"]) == [p.label for p in props]
    for i, p in enumerate(props):
        assert t["area_px"][i] == p.area
        assert (t["y"][i], t["x"][i]) == pytest.approx(p.centroid, abs=1e-9)
        r0, c0, r1, c1 = p.bbox
        bbox = (
            t["bbox_row_min"][i],
            t["bbox_col_min"][i],
            t["bbox_row_max"][i],
            t["bbox_col_max"][i],
        )
        assert bbox == (r0, c0, r1 - 1, c1 - 1)
        assert t["perimeter_px"][i] == pytest.approx(p.perimeter_crofton, rel=1e-9)
        assert t["area_convex_px"][i] == p.area_convex
        assert t["solidity"][i] == pytest.approx(p.solidity, rel=1e-9)
        # ours treats pixels as unit squares: eigenvalues = scikit-image's + 1/12
        l1, l2 = p.inertia_tensor_eigvals
        assert t["axis_major_px"][i] == pytest.approx(4 * np.sqrt(l1 + 1 / 12), rel=1e-9)
        assert t["axis_minor_px"][i] == pytest.approx(4 * np.sqrt(l2 + 1 / 12), rel=1e-9)
        if l1 - l2 > 1e-6:
            diff = (
                t["orientation_rad"][i] - (np.pi / 2 - p.orientation) + np.pi / 2
            ) % np.pi - np.pi / 2
            assert abs(diff) < 1e-9
        # scikit-image measures Feret on the marching-squares outline of its convex image (pixel-edge
        # midpoints, anisotropic), ours on pixel centres + 1 px: the two differ by less than 1 px
        assert abs(t["diameter_feret_max_px"][i] - p.feret_diameter_max) < 1.0
        assert t["intensity_mean"][i] + t["intensity_background"][i] == pytest.approx(
            p.intensity_mean, rel=1e-9
        )


def test_intensity_above_local_background() -> None:
    lab = np.zeros((128, 128), dtype=np.int32)
    lab[20:30, 20:30] = 1
    lab[90:100, 90:100] = 2
    gradient = np.add.outer(np.linspace(0, 100, 128), np.zeros(128))  # background rises with y
    image = 50.0 + gradient + 10.0 * (lab > 0)
    t = particle_table(lab, image, background_tile_px=32)
    assert t["intensity_mean"] == pytest.approx([10.0, 10.0], abs=2.0)
    assert t["intensity_integrated"] == pytest.approx(t["intensity_mean"] * 100.0)
    assert t["intensity_background"][1] > t["intensity_background"][0] + 50


def test_touching_and_edge_flags() -> None:
    lab = np.zeros((40, 40), dtype=np.int32)
    lab[5:10, 5:10] = 4
    lab[10:15, 10:15] = 9  # diagonal contact with label 4
    lab[20:25, 20:25] = 2
    lab[0:3, 30:33] = 7  # on the top edge
    t = particle_table(lab)
    assert list(t["label"]) == [2, 4, 7, 9]
    assert list(t["touches_edge"]) == [False, False, True, False]
    assert list(t["contact_count"]) == [0, 1, 0, 1]
    assert list(t["contact_group"]) == [2, 4, 7, 4]


@pytest.mark.parametrize(
    "lab",
    [
        np.zeros((16, 16), dtype=np.int32),
        np.pad(np.ones((1, 1), dtype=np.int32), 4),
        np.ones((8, 8), dtype=np.int32),
        np.pad(np.ones((1, 6), dtype=np.int32), 4),
        np.zeros((0, 5), dtype=np.int32),
    ],
    ids=["empty", "one-pixel", "all-edge", "one-row", "zero-size"],
)
def test_degenerate_inputs(lab: np.ndarray) -> None:
    t = particle_table(lab, np.ones(lab.shape), pixel_size_nm=1.0)
    n = len(np.unique(lab[lab > 0]))
    assert all(len(v) == n for v in t.values())
    if n:
        assert np.all(t["diameter_feret_max_px"] >= t["diameter_feret_min_px"])
        assert np.all(t["diameter_feret_min_px"] >= 1.0)


def test_one_pixel_particle_values() -> None:
    t = particle_table(np.pad(np.ones((1, 1), dtype=np.int32), 3))
    assert t["area_px"][0] == 1
    assert t["diameter_feret_max_px"][0] == t["diameter_feret_min_px"][0] == 1.0
    assert t["aspect_ratio"][0] == 1.0 and t["eccentricity"][0] == 0.0
    assert t["solidity"][0] == 1.0


def test_large_label_values_and_split_particles() -> None:
    lab = np.zeros((30, 30), dtype=np.int64)
    lab[2:6, 2:6] = 2**40
    lab[20:24, 2:6] = 2**40  # same label in two pieces
    lab[10:14, 10:14] = 5
    t = particle_table(lab)
    assert list(t["label"]) == [5, 2**40]
    assert list(t["area_px"]) == [16, 32]
    assert t["diameter_feret_max_px"][1] == pytest.approx(np.hypot(21, 3) + 1)


@pytest.mark.parametrize(
    ("labels", "kwargs"),
    [
        (np.zeros((3, 3, 3), dtype=np.int32), {}),
        (np.zeros((3, 3), dtype=np.float32), {}),
        (-np.ones((3, 3), dtype=np.int32), {}),
        (np.zeros((3, 3), dtype=np.int32), {"image": np.zeros((4, 3))}),
        (np.zeros((3, 3), dtype=np.int32), {"pixel_size_nm": 0.0}),
        (np.zeros((3, 3), dtype=np.int32), {"pixel_size_nm": float("nan")}),
    ],
)
def test_bad_input_raises_clear_error(labels: np.ndarray, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        particle_table(labels, **kwargs)


def test_background_falls_back_to_the_frame_median_in_crowded_tiles() -> None:
    lab = np.zeros((64, 64), dtype=np.int32)
    lab[:32, :32] = 1  # fills its whole 32 px tile: no background samples there
    image = np.where(lab > 0, 500.0, 100.0)
    image[40:, 40:] = 300.0  # one tile with a different background
    t = particle_table(lab, image, background_tile_px=32)
    assert t["intensity_background"][0] == pytest.approx(100.0)  # frame median of the background
    assert t["intensity_mean"][0] == pytest.approx(400.0)
