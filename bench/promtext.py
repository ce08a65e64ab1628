"""Read a pipeline's Prometheus /metrics page and turn two snapshots into per-interval numbers (pure
apart from :func:`scrape`).

A snapshot maps (sample name, sorted label pairs) to the sample value, e.g.
``("nanolive_stage_seconds_sum", (("stage", "segment"),)) -> 12.5``.
"""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

Snapshot = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse_metrics(text: str) -> Snapshot:
    """Return the samples of a Prometheus text exposition."""
    out: Snapshot = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def scrape(url: str, timeout_s: float = 5.0) -> Snapshot:
    """Return the current samples at ``url`` (an http://.../metrics address)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (local URL)
        return parse_metrics(response.read().decode("utf-8"))


def delta_by_label(before: Snapshot, after: Snapshot, name: str, label: str) -> dict[str, float]:
    """Return the increase of sample ``name`` per value of ``label`` between two snapshots."""
    out: dict[str, float] = {}
    for (sample, labels), value in after.items():
        if sample != name:
            continue
        key = dict(labels).get(label)
        if key is None:
            continue
        out[key] = value - before.get((sample, labels), 0.0)
    return out


def stage_means_ms(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Return the mean time per frame of each pipeline stage (ms) between two snapshots."""
    sums = delta_by_label(before, after, "nanolive_stage_seconds_sum", "stage")
    counts = delta_by_label(before, after, "nanolive_stage_seconds_count", "stage")
    return {stage: 1e3 * sums[stage] / counts[stage] for stage in sums if counts.get(stage, 0) > 0}


def drops_by_reason(before: Snapshot, after: Snapshot) -> dict[str, int]:
    """Return frames dropped per reason between two snapshots (reasons with none left out)."""
    d = delta_by_label(before, after, "nanolive_frames_dropped_total", "reason")
    return {reason: int(round(v)) for reason, v in d.items() if v > 0}


def batch_size_mean(before: Snapshot, after: Snapshot) -> float | None:
    """Return the mean engine batch size between two snapshots (None without batches)."""
    key_sum = ("nanolive_batch_size_sum", ())
    key_count = ("nanolive_batch_size_count", ())
    n = after.get(key_count, 0.0) - before.get(key_count, 0.0)
    if n <= 0:
        return None
    return (after.get(key_sum, 0.0) - before.get(key_sum, 0.0)) / n
