"""Area, centroid and second-moment ellipse of every particle, from one pass over the labelled pixels.

Conventions: x = column, y = row, in px, origin at the centre of the top-left pixel. Each pixel is a unit
square, so the second central moments include Sheppard's correction of 1/12 px^2 per axis: a single pixel
has the moments of a unit square, and the fitted ellipse of a digital disc of radius R has axes 2R with no
small-size bias. (scikit-image treats pixels as points; its eigenvalues are ours minus 1/12.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .foreground import Foreground

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


def particle_moments(fg: Foreground) -> Moments:
    """Return area, centroid and second central moments of every particle in ``fg``."""
    n = fg.n_particles
    idx = fg.index
    area = np.bincount(idx, minlength=n).astype(np.float64)
    safe = np.maximum(area, 1.0)
    x = np.bincount(idx, weights=fg.cols, minlength=n) / safe
    y = np.bincount(idx, weights=fg.rows, minlength=n) / safe
    dx = fg.cols - x[idx]
    dy = fg.rows - y[idx]
    var_xx = np.bincount(idx, weights=dx * dx, minlength=n) / safe + PIXEL_VARIANCE_PX2
    var_yy = np.bincount(idx, weights=dy * dy, minlength=n) / safe + PIXEL_VARIANCE_PX2
    cov_xy = np.bincount(idx, weights=dx * dy, minlength=n) / safe
    return Moments(area, x, y, var_xx, var_yy, cov_xy)


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
