"""The simulator benchmark script runs and reports every variant (speed itself is not asserted)."""

from __future__ import annotations

import json

from nanolive.bench import sim_speed


def test_sim_speed_script_reports_every_variant(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sim_speed.os, "sched_setaffinity", lambda *a: None, raising=False)
    assert sim_speed.main(["--frames", "1", "--repeats", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["variants"]) == set(sim_speed.variants())
    for entry in report["variants"].values():
        assert entry["frames_per_s_cpu"] > 0 and entry["frames_per_s_wall"] > 0
