"""The batched Kalman model equals filterpy's KalmanFilter run track by track."""

import numpy as np
from filterpy.kalman import KalmanFilter
from nanolive.trackers import KalmanModel


def test_batched_filter_equals_filterpy_per_track():
    model = KalmanModel.build(0.7, 1.5, 0.05, 1.0, 0.2, 0.5)
    rng = np.random.default_rng(3)
    n = 5
    z0 = rng.uniform(0, 100, size=(n, 3))
    x, P = model.initial_state(z0)
    filters = []
    for i in range(n):
        kf = KalmanFilter(dim_x=6, dim_z=3)
        kf.F, kf.H, kf.Q, kf.R = model.F, model.H, model.Q, model.R
        kf.x = x[i].reshape(6, 1).copy()
        kf.P = model.full_covariance(P)[i].copy()
        filters.append(kf)
    for step in range(6):
        x, P = model.predict(x, P)
        for kf in filters:
            kf.predict()
        if step == 3:
            continue  # a missed frame: predict only
        z = z0 + rng.normal(0, 1, size=(n, 3)) + step
        x, P = model.update(x, P, z)
        for i, kf in enumerate(filters):
            kf.update(z[i])
    for i, kf in enumerate(filters):
        np.testing.assert_allclose(x[i], kf.x.ravel(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(model.full_covariance(P)[i], kf.P, rtol=1e-9, atol=1e-12)


def test_position_innovation_covariance_grows_while_coasting():
    model = KalmanModel.build(0.7, 1.5, 0.05, 1.0, 0.2, 0.5)
    x, P = model.initial_state(np.array([[10.0, 20.0, 5.0]]))
    s1 = model.position_variance(model.predict(x, P)[1])[0, 0]
    x2, P2 = model.predict(*model.predict(x, P))
    assert model.position_variance(P2)[0, 0] > s1 > model.R[0, 0]
