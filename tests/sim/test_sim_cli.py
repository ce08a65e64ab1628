"""`nanolive simulate` writes the expected files, consistent with each other."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import tifffile
from nanolive.stream.cli import main


def test_simulate_writes_stacks_and_tables(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    code = main(
        [
            "simulate", "--out", str(out), "--frames", "4", "--size", "64", "80",
            "--particles", "8", "--seed", "3", "--sparse-fraction", "0.5",
            "--set", "merge_probability=0.5", "--set", "arrangement='agglomerated'",
        ]
    )  # fmt: skip
    assert code == 0
    frames = tifffile.imread(out / "frames.tif")
    labels = tifffile.imread(out / "labels.tif")
    masks = tifffile.imread(out / "masks.tif")
    assert frames.shape == labels.shape == masks.shape == (4, 64, 80)
    assert frames.dtype == np.float32 and labels.dtype == np.int32
    with open(out / "particles.csv") as f:
        rows = list(csv.DictReader(f))
    for t in range(4):
        ids = {int(r["track_id"]) for r in rows if int(r["frame"]) == t}
        present = set(np.unique(labels[t]).tolist()) - {0}
        assert ids == present
        for r in rows:
            if int(r["frame"]) == t:
                assert int(r["area_px"]) == int((labels[t] == int(r["track_id"])).sum())
    with open(out / "events.csv") as f:
        header = next(csv.reader(f))
    assert header == ["frame", "kind", "parents", "children"]
    meta = json.loads((out / "config.json").read_text())
    assert meta["seed"] == 3 and meta["config"]["shape"] == [64, 80]


def test_simulate_rejects_bad_settings(tmp_path: Path) -> None:
    assert main(["simulate", "--out", str(tmp_path / "x"), "--dose", "-3"]) == 2
    assert main(["simulate", "--out", str(tmp_path / "y"), "--set", "nonsense=1"]) == 2
    assert not (tmp_path / "x").exists()
