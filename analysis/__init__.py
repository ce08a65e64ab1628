"""nanolive.analysis: per-particle morphology and per-frame dispersion metrics (pure, vectorised).

``particle_table(labels, image=None, pixel_size_nm=None)`` -> one row per label;
``frame_metrics(table, shape, pixel_size_nm=None)`` -> flat dict of plain floats / ints / lists.
Definitions of every column and key: docs/metrics.md.
"""

from .frame import MetricsConfig, frame_metrics
from .sizes import histogram_edges, size_histogram, size_statistics
from .table import Table, particle_table

__all__ = [
    "MetricsConfig",
    "Table",
    "frame_metrics",
    "histogram_edges",
    "particle_table",
    "size_histogram",
    "size_statistics",
]
