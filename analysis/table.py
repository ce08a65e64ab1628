"""``particle_table``: one row of morphology and intensity per labelled particle.

Columns (arrays of equal length, one entry per label, sorted by label); lengths in px unless the name
says nm (the ``_nm`` / ``_nm2`` variants appear only when the pixel size is known):

label, x, y (centroid, px; x = column, y = row), area_px, area_convex_px, diameter_equivalent_px,
diameter_feret_max_px, diameter_feret_min_px, axis_major_px, axis_minor_px, perimeter_px,
perimeter_convex_px, aspect_ratio, circularity, solidity, convexity, eccentricity, orientation_rad,
intensity_mean, intensity_integrated, intensity_background, touches_edge, bbox_row_min, bbox_col_min,
bbox_row_max, bbox_col_max, contact_count, contact_group.

Definitions, estimators and their pixelisation limits are in docs/metrics.md.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .boundary import RowExtents, convex_perimeter, perimeter_and_contacts, pixel_runs, row_extents
from .foreground import Foreground, foreground
from .grouping import group_bounds
from .hull import hull_measures
from .intensity import local_background, particle_intensities
from .moments import moment_ellipse, particle_moments

Table = dict[str, np.ndarray]

LENGTH_COLUMNS: tuple[str, ...] = (
    "diameter_equivalent",
    "diameter_feret_max",
    "diameter_feret_min",
    "axis_major",
    "axis_minor",
    "perimeter",
    "perimeter_convex",
)
AREA_COLUMNS: tuple[str, ...] = ("area", "area_convex")


def validate_pixel_size(pixel_size_nm: float | None) -> float | None:
    """Return the pixel size as a float, or raise ValueError unless it is None or finite and > 0."""
    if pixel_size_nm is None:
        return None
    value = float(pixel_size_nm)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"pixel_size_nm must be a finite positive number or None, got {pixel_size_nm}"
        )
    return value


def _bounding_boxes(n: int, rows: RowExtents) -> dict[str, np.ndarray]:
    """Inclusive bounding box of every particle, px."""
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return {k: empty for k in ("bbox_row_min", "bbox_col_min", "bbox_row_max", "bbox_col_max")}
    heads, tails = group_bounds(rows.particle)
    return {
        "bbox_row_min": rows.row[heads].astype(np.int64),
        "bbox_col_min": np.minimum.reduceat(rows.col_min, heads).astype(np.int64),
        "bbox_row_max": rows.row[tails].astype(np.int64),
        "bbox_col_max": np.maximum.reduceat(rows.col_max, heads).astype(np.int64),
    }


def _contacts(fg: Foreground, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number of touching particles and contact group (smallest label of the group of particles
    connected through 8-adjacent pixels) of every particle, from the touching ``pairs``."""
    n = fg.n_particles
    count = np.bincount(pairs.ravel(), minlength=n).astype(np.int64)
    if pairs.shape[0] == 0:
        return count, fg.labels.copy()
    graph = coo_matrix((np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    smallest = np.full(component.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, component, fg.labels)
    return count, smallest[component]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def particle_table(
    labels: np.ndarray,
    image: np.ndarray | None = None,
    pixel_size_nm: float | None = None,
    *,
    background_tile_px: int = 64,
) -> Table:
    """Return the morphology table of a label image (int, 0 = background; one row per label).

    Args:
        labels: (rows, cols) integer label image.
        image: (rows, cols) intensity image (detector counts) for the intensity columns; without it
            they are NaN.
        pixel_size_nm: pixel size; when given, ``_nm`` / ``_nm2`` variants of lengths and areas are added.
        background_tile_px: tile size of the local background estimate (see ``intensity``).
    """
    fg = foreground(labels)
    size_nm = validate_pixel_size(pixel_size_nm)
    if image is not None and np.shape(image) != fg.shape:
        raise ValueError(f"image shape {np.shape(image)} differs from label shape {fg.shape}")
    if background_tile_px < 1:
        raise ValueError(f"background_tile_px must be >= 1, got {background_tile_px}")
    n = fg.n_particles
    runs = pixel_runs(fg)
    moments = particle_moments(runs, n)
    ellipse = moment_ellipse(moments)
    rows = row_extents(runs, fg.shape[0])
    hull = hull_measures(n, rows)
    bbox = _bounding_boxes(n, rows)
    perimeter, pairs = perimeter_and_contacts(fg, runs)
    perimeter_convex = convex_perimeter(n, rows)
    contact_count, contact_group = _contacts(fg, pairs)
    area = moments.area_px
    n_rows, n_cols = fg.shape
    table: Table = {
        "label": fg.labels.copy(),
        "x": moments.x,
        "y": moments.y,
        "area_px": area,
        "area_convex_px": hull.area_convex_px,
        "diameter_equivalent_px": 2.0 * np.sqrt(area / np.pi),
        "diameter_feret_max_px": hull.feret_max_px,
        "diameter_feret_min_px": hull.feret_min_px,
        "axis_major_px": ellipse.axis_major_px,
        "axis_minor_px": ellipse.axis_minor_px,
        "perimeter_px": perimeter,
        "perimeter_convex_px": perimeter_convex,
        "aspect_ratio": _ratio(ellipse.axis_major_px, ellipse.axis_minor_px),
        "circularity": _ratio(4.0 * np.pi * area, perimeter**2),
        "solidity": _ratio(area, hull.area_convex_px),
        "convexity": _ratio(perimeter_convex, perimeter),
        "eccentricity": ellipse.eccentricity,
        "orientation_rad": ellipse.orientation_rad,
    }
    table.update(_intensity_columns(fg, image, moments.x, moments.y, area, background_tile_px))
    table["touches_edge"] = (
        (bbox["bbox_row_min"] == 0)
        | (bbox["bbox_col_min"] == 0)
        | (bbox["bbox_row_max"] == n_rows - 1)
        | (bbox["bbox_col_max"] == n_cols - 1)
    )
    table.update(bbox)
    table["contact_count"] = contact_count
    table["contact_group"] = contact_group
    if size_nm is not None:
        for name in LENGTH_COLUMNS:
            table[f"{name}_nm"] = table[f"{name}_px"] * size_nm
        for name in AREA_COLUMNS:
            table[f"{name}_nm2"] = table[f"{name}_px"] * size_nm**2
    return table


def _intensity_columns(
    fg: Foreground,
    image: np.ndarray | None,
    x: np.ndarray,
    y: np.ndarray,
    area: np.ndarray,
    tile_px: int,
) -> Table:
    """intensity_mean, intensity_integrated, intensity_background (NaN without an image)."""
    n = fg.n_particles
    if image is None or n == 0:
        nan = np.full(n, np.nan)
        return {
            "intensity_mean": nan,
            "intensity_integrated": nan.copy(),
            "intensity_background": nan.copy(),
        }
    img = np.asarray(image)
    values = img.ravel()[fg.rows * fg.shape[1] + fg.cols].astype(np.float64)
    labels_2d = fg.padded.reshape(fg.shape[0] + 2, fg.shape[1] + 2)[1:-1, 1:-1]
    background = local_background(img, labels_2d, x, y, tile_px)
    result = particle_intensities(values, fg.index, area, background)
    return {
        "intensity_mean": result.mean,
        "intensity_integrated": result.integrated,
        "intensity_background": result.background,
    }
