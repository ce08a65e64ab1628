"""Per-track summaries: velocity, diffusion coefficient (localisation-error corrected), diameter growth.

Positions are drift-corrected (stage drift removed), in px; time in s. All estimators are vectorised over
tracks (grouped sums with `np.bincount`).

Diffusion, two estimators (2-D, per axis averaged):
- `diffusion_px2_per_s`: the covariance-based estimator of Vestergaard, Blainey & Flyvbjerg (PRE 89,
  022726, 2014): D = <dx_n^2> / (2 dt) + <dx_n dx_(n+1)> / dt; localisation error
  sigma^2 = -<dx_n dx_(n+1)> (scanning acquisition: no motion blur, R = 0). Unbiased by sigma.
- `diffusion_msd_px2_per_s`: least-squares slope of MSD(lag) = 4 D lag dt + 4 sigma^2 over lags 1..4; the
  intercept absorbs the localisation error.
Only steps between consecutive frames (no gap) enter the step statistics; drift-corrected velocity is the
least-squares slope of position against time.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

Table = dict[str, np.ndarray]
MSD_LAGS: tuple[int, ...] = (1, 2, 3, 4)


class TrackHistory:
    """Append-only record of every detection: frame, track id, drift-corrected x, y (px), area (px^2)."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._cache: Table | None = None

    def append(
        self, frame: int, track_ids: np.ndarray, xy: np.ndarray, area_px: np.ndarray
    ) -> None:
        """Record one frame's detections (xy (n, 2) drift-corrected px)."""
        n = track_ids.shape[0]
        self._parts.append(
            (
                np.full(n, frame, np.int64),
                track_ids.astype(np.int64),
                xy[:, 0].astype(np.float64),
                xy[:, 1].astype(np.float64),
                area_px.astype(np.float64),
            )
        )
        self._cache = None

    def relabel(self, old_id: int, new_id: int, from_frame: int) -> None:
        """Give the records of track `old_id` from frame `from_frame` on the id `new_id`."""
        for k in range(max(0, from_frame), len(self._parts)):
            ids = self._parts[k][1]
            ids[ids == old_id] = new_id
        self._cache = None

    def table(self) -> Table:
        """Return all records as columns frame, track_id, x, y, area_px (in arrival order)."""
        if self._cache is None:
            names = ("frame", "track_id", "x", "y", "area_px")
            if not self._parts:
                self._cache = {k: np.zeros(0) for k in names}
            else:
                cols = zip(*self._parts, strict=True)
                self._cache = {k: np.concatenate(v) for k, v in zip(names, cols, strict=True)}
        return self._cache


def _group_mean(group: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    count = np.bincount(group, minlength=n).astype(np.float64)
    total = np.bincount(group, weights=values, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count, count


def _group_slope(group: np.ndarray, t: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Least-squares slope of v against t per group (NaN with fewer than 2 distinct times)."""
    t_mean, _ = _group_mean(group, t, n)
    v_mean, _ = _group_mean(group, v, n)
    dt = t - t_mean[group]
    sxx = np.bincount(group, weights=dt * dt, minlength=n)
    sxy = np.bincount(group, weights=dt * (v - v_mean[group]), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sxx > 0, sxy / sxx, np.nan)


def track_summaries(
    history: TrackHistory,
    times_s: np.ndarray,
    frame_interval_s: float,
    pixel_size_nm: float | None = None,
    keep_ids: Iterable[int] | None = None,
) -> Table:
    """Return one row per track id (sorted), for the ids in `keep_ids` (all when None).

    Columns: track_id, first_frame, last_frame, n_detections, duration_s, x_mean_px, y_mean_px,
    velocity_x_px_per_s, velocity_y_px_per_s, speed_px_per_s, diffusion_px2_per_s,
    localization_error_px, diffusion_msd_px2_per_s, diameter_mean_px, diameter_growth_px_per_s, and
    when `pixel_size_nm` is known the nm versions (velocity_*_nm_per_s, speed_nm_per_s,
    diffusion_nm2_per_s, diffusion_msd_nm2_per_s, localization_error_nm, diameter_mean_nm,
    diameter_growth_nm_per_s). NaN where a track is too short for an estimate.
    """
    rec = history.table()
    ids_all = rec["track_id"].astype(np.int64)
    keep = np.ones(ids_all.size, bool)
    if keep_ids is not None:
        keep = np.isin(ids_all, np.fromiter(keep_ids, dtype=np.int64))
    order = np.lexsort((rec["frame"][keep], ids_all[keep]))
    frame = rec["frame"][keep][order].astype(np.int64)
    tid = ids_all[keep][order]
    x, y = rec["x"][keep][order], rec["y"][keep][order]
    diam = np.sqrt(4 * rec["area_px"][keep][order] / np.pi)
    times = np.asarray(times_s, dtype=np.float64)
    t = (
        times[frame]
        if times.size > (frame.max() if frame.size else -1)
        else frame * frame_interval_s
    )
    ids, group = np.unique(tid, return_inverse=True)
    n = ids.size
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, group, frame)
    last = np.full(n, -1)
    np.maximum.at(last, group, frame)
    x_mean, count = _group_mean(group, x, n)
    y_mean, _ = _group_mean(group, y, n)
    vx = _group_slope(group, t, x, n)
    vy = _group_slope(group, t, y, n)
    d_cve, sigma2 = _cve_diffusion(group, frame, x, y, n, frame_interval_s)
    d_msd = _msd_diffusion(group, frame, x, y, n, frame_interval_s)
    diam_mean, _ = _group_mean(group, diam, n)
    growth = _group_slope(group, t, diam, n)
    out: Table = {
        "track_id": ids,
        "first_frame": first if n else np.zeros(0, np.int64),
        "last_frame": last if n else np.zeros(0, np.int64),
        "n_detections": count.astype(np.int64),
        "duration_s": (last - first) * frame_interval_s if n else np.zeros(0),
        "x_mean_px": x_mean,
        "y_mean_px": y_mean,
        "velocity_x_px_per_s": vx,
        "velocity_y_px_per_s": vy,
        "speed_px_per_s": np.hypot(vx, vy),
        "diffusion_px2_per_s": d_cve,
        "localization_error_px": np.sqrt(np.clip(sigma2, 0, None)),
        "diffusion_msd_px2_per_s": d_msd,
        "diameter_mean_px": diam_mean,
        "diameter_growth_px_per_s": growth,
    }
    if pixel_size_nm is not None:
        p = float(pixel_size_nm)
        out["velocity_x_nm_per_s"] = vx * p
        out["velocity_y_nm_per_s"] = vy * p
        out["speed_nm_per_s"] = out["speed_px_per_s"] * p
        out["diffusion_nm2_per_s"] = d_cve * p * p
        out["diffusion_msd_nm2_per_s"] = d_msd * p * p
        out["localization_error_nm"] = out["localization_error_px"] * p
        out["diameter_mean_nm"] = diam_mean * p
        out["diameter_growth_nm_per_s"] = growth * p
    return out


def _cve_diffusion(
    group: np.ndarray, frame: np.ndarray, x: np.ndarray, y: np.ndarray, n: int, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the CVE diffusion coefficient (px^2/s) and localisation variance (px^2) per group."""
    if group.size < 2:
        return np.full(n, np.nan), np.full(n, np.nan)
    is_step = (group[1:] == group[:-1]) & (frame[1:] - frame[:-1] == 1)
    dx, dy = np.diff(x), np.diff(y)
    k = np.flatnonzero(is_step)
    msq, cnt = _group_mean(group[k], (dx[k] ** 2 + dy[k] ** 2) / 2, n)
    pair = np.flatnonzero(is_step[:-1] & is_step[1:])
    prod = (dx[pair] * dx[pair + 1] + dy[pair] * dy[pair + 1]) / 2
    cov, cnt2 = _group_mean(group[pair], prod, n)
    with np.errstate(invalid="ignore"):
        ok = (cnt >= 2) & (cnt2 >= 1)
        d = np.where(ok, msq / (2 * dt) + cov / dt, np.nan)
        sigma2 = np.where(ok, -cov, np.nan)
    return d, sigma2


def _msd_diffusion(
    group: np.ndarray, frame: np.ndarray, x: np.ndarray, y: np.ndarray, n: int, dt: float
) -> np.ndarray:
    """Slope of MSD vs lag time (lags 1..4 from records at exactly that frame distance) / 4."""
    lag_t = np.full((len(MSD_LAGS), n), np.nan)
    msd = np.full((len(MSD_LAGS), n), np.nan)
    for li, lag in enumerate(MSD_LAGS):
        if group.size <= lag:
            continue
        same = (group[lag:] == group[:-lag]) & (frame[lag:] - frame[:-lag] == lag)
        k = np.flatnonzero(same)
        sq = (x[k + lag] - x[k]) ** 2 + (y[k + lag] - y[k]) ** 2
        mean, cnt = _group_mean(group[k], sq, n)
        ok = cnt > 0
        msd[li, ok] = mean[ok]
        lag_t[li, ok] = lag * dt
    valid = np.isfinite(msd)
    m = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tm = np.nansum(lag_t, axis=0) / m
        mm = np.nansum(msd, axis=0) / m
        sxx = np.nansum((lag_t - tm) ** 2, axis=0)
        sxy = np.nansum((lag_t - tm) * (msd - mm), axis=0)
        slope = np.where((m >= 2) & (sxx > 0), sxy / sxx, np.nan)
    return slope / 4.0
