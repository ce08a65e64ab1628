"""The default frames stay inside the range of the real HAADF images (docs/realism.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nanolive.sim import SimConfig
from nanolive.sim.realism import real_image_stats, simulated_stats

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "authentic"
BOXES = DATA / "stem-catalyst-boxes"
BRIGHT_FIELD = {"PtC2", "Pt_carbon1", "Pt_carbon2"}


@pytest.mark.skipif(not (BOXES / "images").is_dir(), reason="shared real data not present")
def test_default_haadf_frames_lie_within_the_real_haadf_range() -> None:
    """The median over four default frames of each statistic lies within the range of the seven real
    HAADF images (single frames vary with the slow support undulation, as real images do)."""
    sims = [s for s, _ in simulated_stats("default", SimConfig(), range(4))]
    target_px = float(np.median([s.box_size_fraction for s in sims])) * SimConfig().shape[1]
    real = [s for s, _ in real_image_stats(BOXES, target_px) if s.name not in BRIGHT_FIELD]
    assert len(real) == 7
    for column in ("cnr", "contrast_range", "skewness", "crowding", "box_size_log_sigma"):
        lo = min(getattr(r, column) for r in real)
        hi = max(getattr(r, column) for r in real)
        typical = float(np.median([getattr(s, column) for s in sims]))
        assert lo <= typical <= hi, (column, typical, lo, hi)
