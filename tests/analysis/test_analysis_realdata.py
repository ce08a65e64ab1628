"""particle_table and frame_metrics on real instance maps and masks (read in place from ../shared/data;
skipped where the data is absent)."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import msgpack
import numpy as np
import pytest
from nanolive.analysis import frame_metrics, particle_table
from skimage.measure import label, regionprops

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "authentic"
EMPS = DATA / "emps-instances" / "segmaps"
INSITU = DATA / "insitu-bftem-masks"


def emps_maps(count: int) -> list[np.ndarray]:
    if not EMPS.is_dir():
        pytest.skip(f"real data not found at {EMPS}")
    return [iio.imread(p).astype(np.int32) for p in sorted(EMPS.glob("*.png"))[:count]]


def test_emps_instances_agree_with_regionprops() -> None:
    """Real particle outlines traced from journal figures (irregular, touching, on the edge)."""
    checked = 0
    for lab in emps_maps(12):
        table = particle_table(lab)
        props = regionprops(lab)
        assert list(table["label"]) == [p.label for p in props]
        for i, p in enumerate(props):
            assert table["area_px"][i] == p.area
            assert (table["y"][i], table["x"][i]) == pytest.approx(p.centroid, abs=1e-7)
            assert table["perimeter_px"][i] == pytest.approx(p.perimeter_crofton, rel=1e-9)
            assert table["area_convex_px"][i] == p.area_convex
            assert table["diameter_feret_max_px"][i] == pytest.approx(p.feret_diameter_max, abs=1.0)
            checked += 1
        metrics = frame_metrics(table, lab.shape)
        assert metrics["count"] == len(props)
        msgpack.packb(metrics)
    assert checked > 30


def test_insitu_masks_run_end_to_end() -> None:
    if not INSITU.is_dir():
        pytest.skip(f"real data not found at {INSITU}")
    for path in sorted((INSITU / "labels").glob("*.png"))[:5]:
        mask = iio.imread(path)
        mask = mask[..., 0] if mask.ndim == 3 else mask
        lab = label(mask > 0, connectivity=2).astype(np.int32)
        image = iio.imread(INSITU / "images" / path.name.replace("label_", "image_"))
        image = image[..., 0] if image.ndim == 3 else image
        table = particle_table(lab, image)
        props = regionprops(lab, intensity_image=image)
        assert table["area_px"].sum() == sum(p.area for p in props)
        assert np.allclose(
            table["intensity_mean"] + table["intensity_background"],
            [p.intensity_mean for p in props],
        )
        # bright-field TEM: particles are darker than the support
        assert np.nanmedian(table["intensity_mean"]) < 0
        m = frame_metrics(table, lab.shape)
        assert 0 < m["coverage_fraction"] < 1 and m["count"] == len(props)
