"""Area, centroid and second-moment ellipse of every particle, from one pass over the labelled pixels.

Conventions: x = column, y = row, in px, origin at the centre of the top-left pixel. Each pixel is a unit
square, so the second central moments include Sheppard's correction of 1/12 px^2 per axis: a single pixel
has the moments of a unit square, and the fitted ellipse of a digital disc of radius R has axes 2R with no
small-size bias. (scikit-image treats pixels as points; its eigenvalues are ours minus 1/12.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .boundary import Runs

PIXEL_VARIANCE_PX2 = 1.0 / 12.0


@dataclass(frozen=True)
class Moments:
    """Per-particle moments (arrays of length n_particles).

    Attributes:
        area_px: number of pixels.
        x, y: centroid, px (x = column, y = row).
        var_xx, var_yy, cov_xy: second central moments per pixel, px^2 (pixels as unit squares).
    """

    area_px: np.ndarray
    x: np.ndarray
    y: np.ndarray
    var_xx: np.ndarray
    var_yy: np.ndarray
    cov_xy: np.ndarray


@dataclass(frozen=True)
class Ellipse:
    """Ellipse with the same second moments as the particle.

    Attributes:
        axis_major_px, axis_minor_px: full axis lengths 4 * sqrt(eigenvalue), px.
        orientation_rad: angle from the +x axis (columns) to the major axis, towards +y (rows, i.e.
            clockwise on screen), in (-pi/2, pi/2].
        eccentricity: sqrt(1 - minor^2 / major^2), in [0, 1).
    """

    axis_major_px: np.ndarray
    axis_minor_px: np.ndarray
    orientation_rad: np.ndarray
    eccentricity: np.ndarray


def particle_moments(runs: Runs, n: int) -> Moments:
    """Return area, centroid and second central moments of ``n`` particles from their pixel runs.

    Sums over a run are closed-form integers (exact in float64 for frames up to 4096^2 px), so the
    cost grows with the number of runs, not pixels."""
    c0, c1, row = runs.col_start, runs.col_end, runs.row
    length = (c1 - c0 + 1).astype(np.float64)
    sum_x = ((c0 + c1) * (c1 - c0 + 1) // 2).astype(np.float64)
    sum_xx = ((c1 * (c1 + 1) * (2 * c1 + 1) - (c0 - 1) * c0 * (2 * c0 - 1)) // 6).astype(np.float64)
    rowf = row.astype(np.float64)
    p = runs.particle
    area = np.bincount(p, weights=length, minlength=n)
    safe = np.maximum(area, 1.0)
    x = np.bincount(p, weights=sum_x, minlength=n) / safe
    y = np.bincount(p, weights=length * rowf, minlength=n) / safe
    var_xx = np.bincount(p, weights=sum_xx, minlength=n) / safe - x * x
    var_yy = np.bincount(p, weights=length * rowf * rowf, minlength=n) / safe - y * y
    cov_xy = np.bincount(p, weights=rowf * sum_x, minlength=n) / safe - x * y
    return Moments(
        area_px=area,
        x=x,
        y=y,
        var_xx=np.maximum(var_xx, 0.0) + PIXEL_VARIANCE_PX2,
        var_yy=np.maximum(var_yy, 0.0) + PIXEL_VARIANCE_PX2,
        cov_xy=cov_xy,
    )


def moment_ellipse(m: Moments) -> Ellipse:
    """Return the ellipse with the second moments ``m`` (see :class:`Ellipse`)."""
    half_trace = 0.5 * (m.var_xx + m.var_yy)
    half_diff = 0.5 * (m.var_xx - m.var_yy)
    root = np.hypot(half_diff, m.cov_xy)
    lam_major = half_trace + root
    lam_minor = np.maximum(half_trace - root, 0.0)
    orientation = 0.5 * np.arctan2(2.0 * m.cov_xy, m.var_xx - m.var_yy)
    orientation = np.where(orientation <= -np.pi / 2, orientation + np.pi, orientation)
    eccentricity = np.sqrt(np.clip(1.0 - lam_minor / np.maximum(lam_major, 1e-300), 0.0, 1.0))
    return Ellipse(
        axis_major_px=4.0 * np.sqrt(lam_major),
        axis_minor_px=4.0 * np.sqrt(lam_minor),
        orientation_rad=orientation,
        eccentricity=eccentricity,
    )
