"""Kalman model of a particle, built with filterpy, run vectorised over all tracks at once.

State of one track (order as filterpy's ``kinematic_kf(dim=3, order=1, order_by_dim=True)``):
[x, vx, y, vy, d, vd] with x = column, y = row (px), d = equivalent diameter (px), velocities in px per
frame. Measurement: [x, y, d] (px).

Motion model (chosen for Brownian particles under a drift-compensated stage): a random walk of the
position (variance ``diffusion_sigma_px**2`` per frame, the Brownian step) plus a low-weight
constant-velocity term driven by white-noise acceleration (filterpy ``Q_discrete_white_noise``, variance
``velocity_sigma_px**2``), so a directed motion is learnt slowly while a Brownian particle keeps v ~ 0.
The diameter follows the same form (slow growth/shrinkage).

Why not one ``filterpy.kalman.KalmanFilter`` per track: ~30 us per predict+update in Python, i.e.
~30 ms per frame at 1,000 particles. F, H, Q, R and P0 are built with filterpy (``kinematic_kf``,
``Q_discrete_white_noise``); they are block diagonal (x, y and d independent, each a 2-state
[value, rate] filter measured through its first element), which `build` checks. `predict`/`update`
therefore apply filterpy's equations (x = Fx, P = FPF' + Q; K = PH'S^-1, x += K(z - Hx),
P = (I-KH)P(I-KH)' + KRK') to every 2x2 block of every track at once in closed form on numpy arrays.
The Joseph form equals (I-KH)P for the optimal gain; tests check the result against KalmanFilter.

Covariances are stored compactly: ``cov`` (n, 3, 3) holds (a, b, c) of each block [[a, b], [b, c]].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from filterpy.common import Q_discrete_white_noise, kinematic_kf
from scipy.linalg import block_diag

if TYPE_CHECKING:
    from .config import TrackerConfig

DIM_X = 6
DIM_Z = 3
N_BLOCKS = 3
POS = (0, 2)  # indices of x and y in the state
SIZE = 4  # index of the diameter


def _blocks(matrix: np.ndarray) -> np.ndarray:
    """Return the three 2x2 diagonal blocks of a (6, 6) matrix, checking it is block diagonal."""
    blocks = np.stack([matrix[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] for k in range(N_BLOCKS)])
    if not np.allclose(block_diag(*blocks), matrix):
        raise ValueError("the Kalman model must be block diagonal in (x, y, d)")
    return blocks


def _plan(coefs: tuple[np.ndarray, ...]) -> tuple[tuple[int, np.ndarray | None], ...]:
    """Terms (operand index, coefficient) of a linear combination with per-block coefficients (3,);
    a coefficient exactly 0 in every block drops the term, exactly 1 gives None (no multiply)."""
    plan = []
    for k, coef in enumerate(coefs):
        if np.all(coef == 0.0):
            continue
        plan.append((k, None if np.all(coef == 1.0) else np.array(coef, dtype=np.float64)))
    return tuple(plan)


def _combine(
    plan: tuple[tuple[int, np.ndarray | None], ...], operands: tuple[np.ndarray, ...]
) -> np.ndarray | float:
    """Sum of coefficient * operand over the plan's terms, left to right (0.0 when none)."""
    total: np.ndarray | float = 0.0
    for i, (k, coef) in enumerate(plan):
        term = operands[k] if coef is None else coef * operands[k]
        total = term if i == 0 else total + term
    return total


@dataclass(frozen=True)
class KalmanModel:
    """Matrices of the per-track filter (frame units: px and px per frame).

    F: (6, 6) transition, H: (3, 6) measurement, Q: (6, 6) process noise, R: (3, 3) measurement noise,
    P0: (6, 6) initial covariance of a new track.
    """

    F: np.ndarray
    H: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    P0: np.ndarray

    def __post_init__(self) -> None:
        expected = np.zeros((DIM_Z, DIM_X))
        expected[0, 0] = expected[1, 2] = expected[2, 4] = 1.0
        if not np.array_equal(self.H, expected):
            raise ValueError("H must measure x, y and d (the first element of each block)")
        if not np.allclose(self.R, np.diag(np.diag(self.R))):
            raise ValueError("R must be diagonal")
        object.__setattr__(self, "_f", _blocks(self.F))
        object.__setattr__(self, "_q", _blocks(self.Q))
        object.__setattr__(self, "_p0", _blocks(self.P0))
        # per-frame constants of `predict`, computed once: x' = f00 p + f01 v, v' = f10 p + f11 v;
        # P' entries = ca a + cb b + cc c + q (terms with coefficient 0 dropped, 1 not multiplied)
        f, q, p0 = self._f, self._q, self._p0  # type: ignore[attr-defined]
        f00, f01, f10, f11 = f[:, 0, 0], f[:, 0, 1], f[:, 1, 0], f[:, 1, 1]
        state = (_plan((f00, f01)), _plan((f10, f11)))
        cov = (
            (_plan((f00 * f00, 2 * f00 * f01, f01 * f01)), q[:, 0, 0].copy()),
            (_plan((f00 * f10, f00 * f11 + f01 * f10, f01 * f11)), q[:, 0, 1].copy()),
            (_plan((f10 * f10, 2 * f10 * f11, f11 * f11)), q[:, 1, 1].copy()),
        )
        object.__setattr__(self, "_state_plan", state)
        object.__setattr__(self, "_cov_plan", cov)
        abc = np.stack([p0[:, 0, 0], p0[:, 0, 1], p0[:, 1, 1]], axis=1)
        object.__setattr__(self, "_p0_abc", abc)
        object.__setattr__(self, "_r_diag", np.diag(self.R).copy())

    @classmethod
    def from_config(cls, config: TrackerConfig) -> KalmanModel:
        """Return the model for the noise levels of a tracker configuration."""
        return cls.build(
            measurement_sigma_px=config.measurement_sigma_px,
            diffusion_sigma_px=config.diffusion_sigma_px,
            velocity_sigma_px=config.velocity_sigma_px,
            size_measurement_sigma_px=config.size_measurement_sigma_px,
            size_sigma_px=config.size_sigma_px,
            initial_velocity_sigma_px=config.initial_velocity_sigma_px,
        )

    @classmethod
    def build(
        cls,
        measurement_sigma_px: float,
        diffusion_sigma_px: float,
        velocity_sigma_px: float,
        size_measurement_sigma_px: float,
        size_sigma_px: float,
        initial_velocity_sigma_px: float,
    ) -> KalmanModel:
        """Return the model for the given noise levels (all standard deviations, px or px per frame)."""
        template = kinematic_kf(dim=3, order=1, dt=1.0, dim_z=DIM_Z, order_by_dim=True)
        F = np.asarray(template.F, dtype=np.float64)
        H = np.zeros((DIM_Z, DIM_X))
        H[0, 0] = H[1, 2] = H[2, 4] = 1.0

        def axis_q(step_sigma: float, accel_sigma: float) -> np.ndarray:
            walk = np.diag([step_sigma**2, 0.0])
            return walk + Q_discrete_white_noise(dim=2, dt=1.0, var=accel_sigma**2)

        q_pos = axis_q(diffusion_sigma_px, velocity_sigma_px)
        q_size = axis_q(size_sigma_px, 0.1 * size_sigma_px)
        Q = block_diag(q_pos, q_pos, q_size)
        sm, ss = measurement_sigma_px**2, size_measurement_sigma_px**2
        R = np.diag([sm, sm, ss])
        p_axis = np.diag([sm, initial_velocity_sigma_px**2])
        p_size = np.diag([ss, (0.1 * initial_velocity_sigma_px) ** 2])
        P0 = block_diag(p_axis, p_axis, p_size)
        return cls(F=F, H=H, Q=Q, R=R, P0=P0)

    def initial_state(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return states (n, 6) and compact covariances (n, 3, 3) of new tracks from z (n, 3)."""
        z = np.asarray(z, dtype=np.float64).reshape(-1, DIM_Z)
        x = np.zeros((z.shape[0], DIM_X))
        x[:, 0::2] = z
        cov = np.empty((z.shape[0], N_BLOCKS, 3))
        cov[:] = self._p0_abc  # type: ignore[attr-defined]
        return x, cov

    def predict(self, x: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return predicted states (n, 6) and compact covariances (n, 3, 3): x = Fx, P = FPF' + Q."""
        p_v = (x[:, 0::2], x[:, 1::2])
        x_new = np.empty_like(x)
        pos_plan, vel_plan = self._state_plan  # type: ignore[attr-defined]
        x_new[:, 0::2] = _combine(pos_plan, p_v)
        x_new[:, 1::2] = _combine(vel_plan, p_v)
        abc = (cov[..., 0], cov[..., 1], cov[..., 2])
        out = np.empty_like(cov)
        for k, (plan, q) in enumerate(self._cov_plan):  # type: ignore[attr-defined]
            out[..., k] = _combine(plan, abc) + q
        return x_new, out

    def position_variance(self, cov: np.ndarray) -> np.ndarray:
        """Return the innovation variances (n, 2) of x and y: S = HPH' + R (x and y independent)."""
        return cov[:, :2, 0] + np.diag(self.R)[:2]

    def innovation_variance(self, cov: np.ndarray) -> np.ndarray:
        """Return the innovation variances (n, 3) of x, y and d (S = HPH' + R is diagonal)."""
        return cov[:, :, 0] + self._r_diag  # type: ignore[attr-defined]

    def update(
        self, x: np.ndarray, cov: np.ndarray, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return states and compact covariances after measurements z (n, 3) (filterpy ``update``)."""
        r = self._r_diag  # type: ignore[attr-defined]
        a, b, c = cov[..., 0], cov[..., 1], cov[..., 2]
        s = a + r
        ka, kb = a / s, b / s
        innovation = z - x[:, 0::2]
        x_new = np.empty_like(x)
        x_new[:, 0::2] = x[:, 0::2] + ka * innovation
        x_new[:, 1::2] = x[:, 1::2] + kb * innovation
        out = np.empty_like(cov)
        out[..., 0] = ka * r
        out[..., 1] = kb * r
        out[..., 2] = c - kb * b
        return x_new, out

    @staticmethod
    def full_covariance(cov: np.ndarray) -> np.ndarray:
        """Return the (n, 6, 6) covariances described by compact ones (n, 3, 3)."""
        n = cov.shape[0]
        P = np.zeros((n, DIM_X, DIM_X))
        for k in range(N_BLOCKS):
            i = 2 * k
            P[:, i, i] = cov[:, k, 0]
            P[:, i, i + 1] = P[:, i + 1, i] = cov[:, k, 1]
            P[:, i + 1, i + 1] = cov[:, k, 2]
        return P
