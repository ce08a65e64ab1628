"""The issue's targets, judged on the numbers of one run (pure): each is met, not met, or not evaluated.

1. live_512_at_15fps: 512 x 512 frames sustained at >= 15 fps end to end, no drops, p99 <= 150 ms.
2. pipeline_efficiency: end-to-end throughput / engine-only throughput >= 0.9.
3. vs_trackpy: better accuracy (detection F1 and MOTA) than trackpy (locate + link) at >= its fps.
4. vs_particlespy: >= 10x the fps of the ParticleSpy-style analysis at better detection F1.
Targets 1 and 2 are judged per CPU engine; a target is met when at least one engine meets it (named).
"""

from __future__ import annotations

from .config import BenchConfig

TARGET_SIDE_PX = 512
TARGET_FPS = 15.0
TARGET_P99_MS = 150.0
TARGET_EFFICIENCY = 0.9
TARGET_PARTICLESPY_RATIO = 10.0


def verdict(status: str, detail: str, engine: str | None = None) -> dict:
    """Return one target's verdict (status: met, not met, not evaluated)."""
    return {"status": status, "detail": detail, "engine": engine}


def best_of(per_engine: dict[str, dict]) -> dict:
    """Return the first met verdict among engines, else the first not-met one, else not evaluated."""
    for status in ("met", "not met"):
        for engine, v in per_engine.items():
            if v["status"] == status:
                return {**v, "engine": engine, "per_engine": per_engine}
    return verdict("not evaluated", "no engine measured", None) | {"per_engine": per_engine}


def live_target(results: dict) -> dict:
    """Judge target 1 from the live levels at 512 px offered at the target rate."""
    live = results.get("live")
    if not live:
        return verdict("not evaluated", "live load not run")
    per_engine: dict[str, dict] = {}
    for session in live["sessions"]:
        if session["engine"] == "noop":
            continue
        for lv in session["levels"]:
            if lv["side_px"] != TARGET_SIDE_PX or lv["offered_fps"] != TARGET_FPS:
                continue
            p99 = lv["latency_ms"]["p99"]
            ok = lv["sustained"] and p99 is not None and p99 <= TARGET_P99_MS
            detail = (
                f"{session['batching']}: sent {lv['send_rate_fps'] or 0:.1f} fps, "
                f"throughput {lv['throughput_fps'] or 0:.1f} fps, drops {lv['dropped_total']}, "
                f"lost {lv['lost']}, p99 "
                + (f"{p99:.0f} ms" if p99 is not None else "n/a")
                + (", saturated" if lv["saturated"] else "")
            )
            key = f"{session['engine']} {session['batching']}"
            if key not in per_engine or ok:
                per_engine[key] = verdict("met" if ok else "not met", detail)
    if not per_engine:
        return verdict(
            "not evaluated", f"no live level at {TARGET_SIDE_PX} px and {TARGET_FPS:g} fps"
        )
    return best_of(per_engine)


def efficiency_target(results: dict) -> dict:
    """Judge target 2 from the max-rate levels against engine-only rates."""
    rows = (results.get("live") or {}).get("efficiency") or []
    per_engine: dict[str, dict] = {}
    for r in rows:
        if r["efficiency"] is None:
            continue
        ok = r["efficiency"] >= TARGET_EFFICIENCY
        key = f"{r['engine']} {r['batching']} {r['side_px']}px"
        per_engine[key] = verdict(
            "met" if ok else "not met",
            f"{r['end_to_end_fps']:.2f} / {r['engine_only_fps']:.2f} fps = {r['efficiency']:.2f}",
        )
    return best_of(per_engine)


def trackpy_target(results: dict) -> dict:
    """Judge target 3 from the comparison."""
    methods = results.get("comparison", {}).get("methods", {})
    tp = methods.get("trackpy")
    if not tp:
        return verdict("not evaluated", "trackpy not measured")
    per_engine: dict[str, dict] = {}
    for name, m in methods.items():
        if not name.startswith("ours_") or "_first_" in name:
            continue
        speed = m["frames_per_s"] / tp["frames_per_s"]
        df1 = m["detection"]["f1"] - tp["detection"]["f1"]
        dmota = m["tracking"]["mota"] - tp["tracking"]["mota"]
        ok = speed >= 1.0 and df1 > 0 and dmota > 0
        per_engine[name] = verdict(
            "met" if ok else "not met",
            f"fps ratio {speed:.2f} ({m['frames_per_s']:.1f} vs {tp['frames_per_s']:.1f}), "
            f"F1 {m['detection']['f1']:.3f} vs {tp['detection']['f1']:.3f}, "
            f"MOTA {m['tracking']['mota']:.3f} vs {tp['tracking']['mota']:.3f}",
        )
    return best_of(per_engine)


def particlespy_target(results: dict) -> dict:
    """Judge target 4 from the comparison (same frames subset for both)."""
    methods = results.get("comparison", {}).get("methods", {})
    ps = methods.get("particlespy_style")
    if not ps:
        return verdict("not evaluated", "ParticleSpy-style analysis not measured")
    per_engine: dict[str, dict] = {}
    for name, m in methods.items():
        if not (name.startswith("ours_") and "_first_" in name):
            continue
        speed = m["frames_per_s"] / ps["frames_per_s"]
        df1 = m["detection"]["f1"] - ps["detection"]["f1"]
        ok = speed >= TARGET_PARTICLESPY_RATIO and df1 > 0
        per_engine[name.split("_first_")[0]] = verdict(
            "met" if ok else "not met",
            f"fps ratio {speed:.1f} ({m['frames_per_s']:.2f} vs {ps['frames_per_s']:.2f}), "
            f"F1 {m['detection']['f1']:.3f} vs {ps['detection']['f1']:.3f}",
        )
    return best_of(per_engine)


def evaluate_targets(results: dict, config: BenchConfig) -> dict:
    """Return the verdict of every target of the issue."""
    out = {
        "live_512_at_15fps": live_target(results),
        "pipeline_efficiency": efficiency_target(results),
        "vs_trackpy": trackpy_target(results),
        "vs_particlespy": particlespy_target(results),
    }
    if config.live_side_px != TARGET_SIDE_PX and out["live_512_at_15fps"]["status"] != "met":
        out["live_512_at_15fps"] = verdict(
            "not evaluated", f"this run's live frames are {config.live_side_px} px, not 512"
        )
    return out
