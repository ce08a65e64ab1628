"""Boundaries of runs of equal values in sorted arrays (the groups that ``ufunc.reduceat`` reduces)."""

from __future__ import annotations

import numpy as np


def starts_of_groups(keys: np.ndarray) -> np.ndarray:
    """Index of the first element of every run of equal consecutive ``keys``."""
    new = np.empty(keys.size, dtype=bool)
    new[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    return np.flatnonzero(new)


def group_bounds(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of every run of equal consecutive ``keys``."""
    heads = starts_of_groups(keys)
    tails = np.empty_like(heads)
    tails[:-1] = heads[1:] - 1
    tails[-1:] = keys.size - 1
    return heads, tails


def same_as_previous(keys: np.ndarray) -> np.ndarray:
    """Boolean mask: element equals the one before it (False for the first)."""
    same = np.zeros(keys.size, dtype=bool)
    np.equal(keys[1:], keys[:-1], out=same[1:])
    return same
