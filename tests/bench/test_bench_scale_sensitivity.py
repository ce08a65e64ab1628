"""The scale table covers every STEM image at every factor and pools the counts."""

from __future__ import annotations

import pytest
from nanolive.bench.scale_sensitivity import scale_table
from nanolive.engines.base import EngineConfig
from nanolive.engines.data import STEM_BOXES, default_data_root, stem_ids


def test_scale_table_has_a_row_per_image_and_a_pooled_row() -> None:
    root = default_data_root()
    if not (root / STEM_BOXES).is_dir():
        pytest.skip("shared real data not present")
    table = scale_table([8, 16], EngineConfig(name="classical"))
    rows = table.splitlines()[2:]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows[:-1]] == stem_ids(root)
    assert rows[-1].startswith("| **pooled**")
    values = [float(v.strip(" *|")) for r in rows for v in r.split(" | ")[1:]]
    assert len(values) == 2 * len(rows) and all(0.0 <= v <= 1.0 for v in values)
