"""Bin numbers of values between sorted edges without ``np.searchsorted`` over unsorted values (one
binary search per value is slow: it mispredicts branches); exact, with a fallback for the rare value
whose arithmetic first guess is off."""

from __future__ import annotations

import numpy as np


def bin_index(values: np.ndarray, edges: np.ndarray, log: bool = False) -> np.ndarray:
    """Return ``np.searchsorted(edges, values, side="right") - 1`` for ``values`` (finite, within
    [edges[0], edges[-1]]) and increasing ``edges``: k with edges[k] <= v < edges[k + 1].

    The first guess assumes edges evenly spaced (in log10 when ``log``); every guess is checked
    against the edges and the wrong ones are searched."""
    nbins = edges.size - 1
    if values.size == 0 or nbins < 1:
        return np.zeros(values.size, dtype=np.intp)
    if log:
        lo, hi, position = np.log10(edges[0]), np.log10(edges[-1]), np.log10(values)
    else:
        lo, hi, position = edges[0], edges[-1], values
    scale = nbins / (hi - lo) if hi > lo else 0.0
    guess = ((position - lo) * scale).astype(np.intp)
    np.clip(guess, 0, nbins - 1, out=guess)
    wrong = (values < edges[guess]) | (values >= edges[guess + 1])
    if wrong.any():
        guess[wrong] = np.searchsorted(edges, values[wrong], side="right") - 1
    return guess
