"""The markdown summary of a benchmark result (pure: result dict in, text out)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

RULES = """\
- Every number on this page comes from the one run named above, on the machine described; ratios are
  only taken between numbers of that run. Timings are wall-clock; nothing is asserted by the tests.
- Frames are simulated (nanolive.sim, HAADF defaults, 150 particles per 512 x 512 px, the density kept
  for other sizes) before a measurement starts, never during it; accuracy is scored against the
  simulator's exact truth.
- Live load: a real `nanolive serve` subprocess (recording on, to a temporary folder; Prometheus on;
  default queue and policy `block`) on 127.0.0.1; the sender and a subscriber to the `frame` and `status`
  topics run in the benchmark process. Frames travel as uint16 over protocol v1 (ZeroMQ PUSH/PULL).
- Latency = arrival of the `frame` result at the subscriber minus the send time stamped in the frame
  header (same clock): send, transport, decode, queue, batching, segmentation, measurement, tracking,
  metrics and publication. Offered rates are open loop (frame k leaves at k / fps); a level stops
  early and is marked saturated when a frame waits more than 1 s for its result. The maximum rate is
  closed loop (a fixed number of frames in flight). Sustained = every frame returned, no drops, and
  both send rate and throughput >= 95 % of the offered rate.
- Drops come from the pipeline's own counters (by reason, from /metrics); per-stage times from its stage
  histograms (segment time is per batch / batch size); CPU = serve process user + system time over the
  level's wall time (1.0 = one core), and the same for the benchmark process (sender + subscriber, the
  load generator); memory = the serve process's peak resident set.
- Engine only = `engine.segment` alone in the benchmark process on the same frames and batch size
  (rate from the median time per call, so a moment of CPU stolen by another process counts less);
  core = engine + particle_table + tracker + frame_metrics without sockets; pipeline efficiency =
  end-to-end maximum-rate throughput / engine-only throughput.
- The no-op path (engine that finds nothing) measures the pipeline's own overhead the same way.
- trackpy: `locate` with diameter = the odd integer above the median true diameter, `minmass` calibrated
  for the best F1 on a separate calibration frame (generous to trackpy), then `link` (search range
  5 px, memory 3). ParticleSpy is not installed: `particlespy_style` is our own equivalent of its method
  (Gaussian smoothing, Otsu threshold, distance-transform watershed, regionprops and its per-particle
  full-frame property loop), linked with trackpy like its time-series analysis.
- A detection matches a true particle when their centroids are within half the median true diameter;
  matching is one-to-one. MOTA and IDF1 use nanolive.trackers.metrics on the same matches.
"""

#: Pipeline stages reported per frame, in data-flow order (names of nanolive_stage_seconds).
STAGES: tuple[str, ...] = ("decode", "queue", "segment", "measure", "track", "publish", "record")


def fmt(value: object, digits: int = 1) -> str:
    """Return a number formatted for a table (``-`` for None)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return a markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_section(results: dict, command: str) -> str:
    """Return the run and machine description."""
    m = results["machine"]
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    load = m.get("load_average_1_5_15")
    load_end = m.get("load_average_end")
    return "\n".join(
        [
            f"- Command: `{command}`",
            f"- Run started {results['started_utc']}, took {results['timings_s']['total']:.0f} s "
            f"(parts: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in results["timings_s"].items() if k != "total")
            + ")",
            f"- Commit: {m.get('git_commit') or 'unknown'}",
            f"- CPU: {m['cpu']}; {m['cores_usable']} usable of {m['cores_logical']} logical cores; "
            f"{fmt(m['memory_gib'])} GiB memory; {m['os']}; Python {m['python']}",
            f"- Load average (1, 5, 15 min) at start {fmt_list(load)}, at end {fmt_list(load_end)} "
            "(other work on the machine inflates timings)",
            f"- Packages: {pk}",
        ]
    )


def fmt_list(values: Sequence[float] | None) -> str:
    """Return a short list of numbers."""
    return "-" if not values else "/".join(f"{v:.1f}" for v in values)


def targets_section(results: dict) -> str:
    """Return the targets table."""
    names = {
        "live_512_at_15fps": "512 x 512 at >= 15 fps end to end, no drops, p99 <= 150 ms",
        "pipeline_efficiency": "pipeline efficiency >= 0.9",
        "vs_trackpy": "better accuracy than trackpy at >= its fps",
        "vs_particlespy": ">= 10x the fps of ParticleSpy-style at better accuracy",
    }
    rows = []
    for key, title in names.items():
        v = results["targets"][key]
        status = {"met": "**met**", "not met": "**not met**"}.get(v["status"], v["status"])
        detail = v["detail"] + (f" ({v['engine']})" if v.get("engine") else "")
        rows.append((title, status, detail))
    return table(("target", "status", "best measured (engine)"), rows)


def live_section(results: dict) -> str:
    """Return the live-load tables."""
    live = results.get("live")
    if not live:
        return "Live load not run."
    rows = []
    for s in live["sessions"]:
        for lv in s["levels"]:
            lat = lv["latency_ms"]
            rows.append(
                (
                    s["engine"],
                    s["batching"],
                    lv["name"],
                    lv["side_px"],
                    fmt(lv["offered_fps"]) if lv["offered_fps"] else "max",
                    fmt(lv["send_rate_fps"]),
                    fmt(lv["throughput_fps"]),
                    f"{fmt(lat['p50'], 0)} / {fmt(lat['p95'], 0)} / {fmt(lat['p99'], 0)} / "
                    f"{fmt(lat['max'], 0)}",
                    lv["dropped_total"],
                    lv["lost"],
                    fmt(lv["sustained"]),
                    fmt(lv["batch_size_mean"]),
                    fmt(lv["cpu_cores_used"], 2),
                    fmt(lv.get("load_generator_cpu_cores"), 2),
                    fmt(lv["peak_rss_mb"], 0),
                )
            )
    head = (
        "engine",
        "batching",
        "level",
        "side px",
        "offered fps",
        "sent fps",
        "throughput fps",
        "latency p50/p95/p99/max ms",
        "drops",
        "lost",
        "sustained",
        "batch",
        "serve CPU cores",
        "load generator CPU cores",
        "serve peak RSS MB",
    )
    parts = [table(head, rows)]
    stage_rows = []
    for s in live["sessions"]:
        for lv in s["levels"]:
            if lv["offered_fps"] is None:
                st = lv["stage_ms"]
                stage_rows.append(
                    (s["engine"], s["batching"], lv["name"])
                    + tuple(fmt(st.get(k), 2) for k in STAGES)
                )
    parts.append("Per-stage mean time per frame at the maximum rate (ms):")
    parts.append(
        table(
            (
                "engine",
                "batching",
                "level",
                *STAGES,
            ),
            stage_rows,
        )
    )
    drops = [
        (
            s["engine"],
            s["batching"],
            lv["name"],
            ", ".join(f"{k}: {v}" for k, v in lv["drops"].items()),
        )
        for s in live["sessions"]
        for lv in s["levels"]
        if lv["drops"]
    ]
    parts.append(
        "Drops by reason: "
        + (
            "none in any level."
            if not drops
            else "\n\n" + table(("engine", "batching", "level", "reasons"), drops)
        )
    )
    eff = live.get("efficiency", [])
    parts.append(
        "Pipeline efficiency (end-to-end maximum rate / engine only, same frames and batch):"
    )
    parts.append(
        table(
            (
                "engine",
                "batching",
                "side px",
                "engine only fps",
                "core fps (batch 1)",
                "end-to-end fps",
                "efficiency",
                "end-to-end / core",
            ),
            [
                (
                    r["engine"],
                    r["batching"],
                    r["side_px"],
                    fmt(r["engine_only_fps"], 2),
                    fmt(r.get("core_fps"), 2),
                    fmt(r["end_to_end_fps"], 2),
                    fmt(r["efficiency"], 2),
                    fmt(r.get("end_to_end_over_core"), 2),
                )
                for r in eff
            ],
        )
    )
    if live.get("skipped"):
        parts.append("Skipped: " + "; ".join(f"{k}: {v}" for k, v in live["skipped"].items()))
    return "\n\n".join(parts)


def scaling_section(results: dict) -> str:
    """Return the scaling tables."""
    es = results["engine_scaling"]
    rows = [
        (
            name,
            r["side_px"],
            fmt(r["engine_frames_per_s"], 2),
            fmt(r["engine_ms_per_frame"], 0),
            fmt(r["engine_mpx_per_s"], 2),
            fmt(r["core_frames_per_s"], 2),
            fmt(r["core_over_engine"], 2),
        )
        for name, rs in es["engines"].items()
        for r in rs
    ]
    parts = [
        "Engine only and core against frame size (one process, batch 1):",
        table(
            (
                "engine",
                "side px",
                "engine fps",
                "engine ms/frame",
                "engine Mpx/s",
                "core fps",
                "core / engine",
            ),
            rows,
        ),
    ]
    if es.get("skipped"):
        parts.append("Skipped engines: " + "; ".join(f"{k}: {v}" for k, v in es["skipped"].items()))
    ps = results["particle_scaling"]
    parts.append(
        "Measurement (particle_table), tracking (Tracker.update) and frame metrics against particle "
        "count (synthetic label images, 1,000 particles per 512 x 512 px; median of "
        f"{ps['frames']} frames):"
    )
    parts.append(
        table(
            (
                "particles",
                "side px",
                "measure ms",
                "track ms",
                "metrics ms",
                "total ms",
                "us / particle",
            ),
            [
                (
                    r["particles"],
                    r["side_px"],
                    fmt(r["measure_ms_per_frame"]),
                    fmt(r["track_ms_per_frame"]),
                    fmt(r["metrics_ms_per_frame"]),
                    fmt(r["total_ms_per_frame"]),
                    fmt(r["us_per_particle"]),
                )
                for r in ps["rows"]
            ],
        )
    )
    if "scaling_exponent" in ps:
        parts.append(f"Total cost grows as particles^{ps['scaling_exponent']:.2f} over this range.")
    return "\n\n".join(parts)


def backends_section(results: dict) -> str:
    """Return the engine-backend table."""
    b = results.get("backends")
    if not b:
        return "Engine backends not measured."
    rows = [
        (
            r["engine"],
            r["threads"],
            fmt(r.get("net_ms")),
            fmt(r.get("segment_ms")),
            fmt(r.get("frames_per_s"), 2),
            r.get("skipped", ""),
        )
        for r in b["rows"]
    ]
    return (
        f"{b['side_px']} x {b['side_px']} px frames (HAADF and BF alternating), batch 1, median of "
        f"{b['frames']} frames after two warm-up calls (nanolive.bench.engine_speed); threads 0 = "
        "library default:\n\n"
        + table(("engine", "threads", "network ms", "segment ms", "frames/s", "skipped"), rows)
    )


def compare_section(results: dict) -> str:
    """Return the comparison table and ratios."""
    c = results["comparison"]
    rows = []
    for name, m in c["methods"].items():
        d, t = m["detection"], m["tracking"]
        rows.append(
            (
                name,
                m["frames"],
                fmt(m["frames_per_s"], 2),
                fmt(d["precision"], 3),
                fmt(d["recall"], 3),
                fmt(d["f1"], 3),
                fmt(d["rmse_px"], 2),
                fmt(t["mota"], 3),
                fmt(t["idf1"], 3),
                t["id_switches"],
            )
        )
    parts = [
        f"{c['frames']} frames of {c['side_px']} x {c['side_px']} px, "
        f"{c['particles_per_frame_mean']:.0f} particles per frame on average; match distance "
        f"{c['match_distance_px']:.1f} px.",
        table(
            (
                "method",
                "frames",
                "frames/s",
                "precision",
                "recall",
                "F1",
                "RMSE px",
                "MOTA",
                "IDF1",
                "ID switches",
            ),
            rows,
        ),
    ]
    for name, r in c["ratios"].items():
        bits = [f"{k} {fmt(v, 2)}" for k, v in r.items()]
        parts.append(f"Ratios for {name}: " + ", ".join(bits) + ".")
    params = {k: m["params"] for k, m in c["methods"].items() if m["params"]}
    if params:
        parts.append(
            "Parameters: "
            + "; ".join(
                f"{k}: " + ", ".join(f"{a}={fmt(b, 2)}" for a, b in p.items())
                for k, p in params.items()
            )
        )
    if c.get("skipped"):
        parts.append("Skipped: " + "; ".join(f"{k}: {v}" for k, v in c["skipped"].items()))
    return "\n\n".join(parts)


def markdown(results: dict, command: str, figures: Sequence[str]) -> str:
    """Return the whole summary page; ``figures`` are paths relative to the page."""
    parts = [
        "# Benchmarks",
        "Written by `nanolive bench` (code in bench/); do not edit by hand, run the command again.",
        "## Run and machine",
        machine_section(results, command),
        "## Targets of the issue",
        targets_section(results),
        "## Live load (end to end over loopback ZeroMQ)",
        live_section(results),
        "## Engine backends",
        backends_section(results),
        "## Scaling",
        scaling_section(results),
        "## Against the tools people use today",
        compare_section(results),
        "## Figures",
        "\n\n".join(f"![{f}]({f})" for f in figures),
        "## Benchmark rules",
        RULES,
    ]
    return "\n\n".join(parts).rstrip() + "\n"
