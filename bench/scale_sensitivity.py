"""How the detection accuracy on real STEM images depends on the input pixel scale (markdown table).

Run: ``.venv/bin/python -m nanolive.bench.scale_sensitivity [--downscale 1 2 4 8] [--weights W]``.

The ten held-out STEM catalyst images (2048 px wide originals, particles ~20-150 px across; YOLO boxes
only) are block-averaged by each factor and segmented by the engine (default ``EngineConfig``, so
auto-scale is on); box-centre F1 per image and pooled. ``nanolive evaluate`` scores the same set at
one factor (4, ``engines.data.load_stem_boxes``); this table shows what a different detector binning
or magnification would give, i.e. how far the network's trained particle scale (~5-40 px across) and
the auto-scale rule carry. Nothing is trained or tuned here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from nanolive.engines.base import EngineConfig
from nanolive.engines.data import STEM_BOXES, default_data_root, load_stem_boxes, stem_ids
from nanolive.engines.metrics import InstanceCounts, centroids_xy, match_boxes
from nanolive.engines.registry import create_engine


def scale_table(downscales: Sequence[int], config: EngineConfig) -> str:
    """Return a markdown table: one row per STEM image, one F1 column per downscale, pooled last."""
    root = default_data_root()
    engine = create_engine(config)
    names = stem_ids(root)
    per_image: dict[str, list[float]] = {n: [] for n in names}
    pooled: list[float] = []
    for factor in downscales:
        total = InstanceCounts(0, 0, 0)
        for s in load_stem_boxes(root, names, downscale=factor):
            counts = match_boxes(s.boxes, centroids_xy(engine.segment(s.image[None])[0]))
            per_image[s.name].append(counts.f1)
            total = total + counts
        pooled.append(total.f1)
    head = "| image | " + " | ".join(f"F1 at 1/{f}" for f in downscales) + " |"
    lines = [head, "|---" * (len(downscales) + 1) + "|"]
    lines += [f"| {n} | " + " | ".join(f"{v:.2f}" for v in per_image[n]) + " |" for n in names]
    lines.append("| **pooled** | " + " | ".join(f"**{v:.3f}**" for v in pooled) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downscale", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--weights", default="", help="model file (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not (default_data_root() / STEM_BOXES).is_dir():
        parser.error(f"{default_data_root() / STEM_BOXES} not found")
    config = EngineConfig(name="onnx", weights=args.weights, threads=args.threads)
    print(scale_table(args.downscale, config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
