"""`nanolive bench --quick` end to end: the harness produces complete, self-consistent outputs.

Runs the quick benchmark once (about a minute) and checks the JSON, the figures and the markdown. It
checks that the harness works and that its bookkeeping adds up, never how fast anything is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nanolive.stream.cli import main

pytestmark = pytest.mark.timeout(240)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    assert main(["bench", "--quick", "--out", str(out), "--docs", str(out / "docs")]) == 0
    return out


@pytest.fixture(scope="module")
def results(quick_run: Path) -> dict:
    return json.loads((quick_run / "results.json").read_text())


def test_top_level_keys(results: dict) -> None:
    for key in (
        "config",
        "machine",
        "comparison",
        "engine_scaling",
        "particle_scaling",
        "backends",
        "live",
        "targets",
        "timings_s",
    ):
        assert key in results, key
    assert results["machine"]["cores_usable"] >= 1


def test_comparison_has_every_method_with_scores(results: dict) -> None:
    methods = results["comparison"]["methods"]
    for name in ("ours_classical", "trackpy", "particlespy_style"):
        m = methods[name]
        assert m["frames_per_s"] > 0
        assert 0.0 <= m["detection"]["f1"] <= 1.0
        assert m["tracking"]["mota"] <= 1.0
        assert 0.0 <= m["tracking"]["idf1"] <= 1.0
        det = m["detection"]
        assert det["true_positives"] + det["false_negatives"] > 0
    ratios = results["comparison"]["ratios"]["ours_classical"]
    assert ratios["fps_vs_trackpy"] > 0 and ratios["fps_vs_particlespy_style"] > 0


def test_backend_table(results: dict) -> None:
    (row,) = [r for r in results["backends"]["rows"] if r["engine"] == "classical"]
    assert row["segment_ms"] > 0 and row["frames_per_s"] > 0


def test_scaling_curves_cover_the_configured_points(results: dict) -> None:
    cfg = results["config"]
    rows = results["engine_scaling"]["engines"]["classical"]
    assert [r["side_px"] for r in rows] == cfg["engine_sizes_px"]
    assert all(r["engine_frames_per_s"] > 0 and r["core_frames_per_s"] > 0 for r in rows)
    counts = [r["particles"] for r in results["particle_scaling"]["rows"]]
    assert counts == cfg["particle_counts"]


def test_live_levels_account_for_every_frame(results: dict) -> None:
    live = results["live"]
    engines = {s["engine"] for s in live["sessions"]}
    assert {"classical", "noop"} <= engines
    batchings = {s["batching"] for s in live["sessions"] if s["engine"] == "classical"}
    assert len(batchings) == len(results["config"]["batch_settings"])
    for session in live["sessions"]:
        sent_total = 0
        for lv in session["levels"]:
            assert lv["sent"] > 0
            assert lv["received"] + lv["dropped_total"] + lv["lost"] == lv["sent"]
            assert len(lv["latencies_ms"]) == lv["received"]
            lat = lv["latency_ms"]
            assert lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
            assert min(lv["latencies_ms"]) > 0
            assert {"decode", "segment", "measure", "track", "publish"} <= set(lv["stage_ms"])
            assert lv["cpu_cores_used"] > 0 and lv["peak_rss_mb"] > 0
            sent_total += lv["sent"]
        acc = session["accounting"]
        assert acc is not None, live["skipped"]
        assert acc["in_flight"] == 0
        assert acc["received"] == sent_total
    offered = [
        lv["offered_fps"] for s in live["sessions"] for lv in s["levels"] if lv["offered_fps"]
    ]
    assert set(results["config"]["offered_fps"]) <= set(offered)
    assert all(r["efficiency"] is not None for r in live["efficiency"])


def test_targets_have_a_verdict(results: dict) -> None:
    targets = results["targets"]
    assert set(targets) == {
        "live_512_at_15fps",
        "pipeline_efficiency",
        "vs_trackpy",
        "vs_particlespy",
    }
    for verdict in targets.values():
        assert verdict["status"] in ("met", "not met", "not evaluated")
        assert verdict["detail"]
    assert targets["live_512_at_15fps"]["status"] == "not evaluated"  # quick run is 256 px


def test_figures_are_png(quick_run: Path) -> None:
    for folder in (quick_run / "figures", quick_run / "docs" / "figures"):
        names = sorted(p.name for p in folder.glob("bench_*.png"))
        assert names == sorted(
            [
                "bench_latency_cdf.png",
                "bench_throughput.png",
                "bench_scaling.png",
                "bench_compare.png",
            ]
        )
        for name in names:
            data = (folder / name).read_bytes()
            assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_markdown_summary(quick_run: Path) -> None:
    page = (quick_run / "benchmarks.md").read_text()
    assert page == (quick_run / "docs" / "benchmarks.md").read_text()
    for text in (
        "# Benchmarks",
        "## Run and machine",
        "nanolive bench",
        "## Targets of the issue",
        "pipeline efficiency >= 0.9",
        "trackpy",
        "particlespy_style",
        "## Benchmark rules",
        "figures/bench_latency_cdf.png",
    ):
        assert text in page, text
    for fig in ("bench_throughput.png", "bench_scaling.png", "bench_compare.png"):
        assert (quick_run / "figures" / fig).exists()
