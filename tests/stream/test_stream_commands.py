"""The commands as a user runs them: serve + acquire as processes, watch, demo."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from nanolive.stream.cli import main
from nanolive.stream.watch import DashboardState, render, watch
from stream_kit import disks_image

NANOLIVE = [sys.executable, "-m", "nanolive.stream.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_and_acquire_processes_stream_record_and_drain_on_sigterm(tmp_path):
    port_in, port_out = free_port(), free_port()
    serve = subprocess.Popen(
        [*NANOLIVE, "serve", "--listen", f"tcp://127.0.0.1:{port_in}",
         "--publish", f"tcp://127.0.0.1:{port_out}", "--metrics-port", "0",
         "--record-dir", str(tmp_path / "sessions"), "--engine", "classical"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        banner = serve.stdout.readline()
        assert f"frames in tcp://127.0.0.1:{port_in}" in banner, serve.stderr.read()
        acquire = subprocess.run(
            [*NANOLIVE, "acquire", "--endpoint", f"tcp://127.0.0.1:{port_in}", "--frames", "6",
             "--shape", "96", "96", "--fps", "0", "--series", "run1"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert acquire.returncode == 0, acquire.stderr
        assert "sent 6 frames of series 'run1'" in acquire.stdout
        sessions = tmp_path / "sessions"
        deadline = time.monotonic() + 60
        frames_csv = None
        while time.monotonic() < deadline:
            found = list(sessions.glob("*/frames.csv"))
            if found and len(found[0].read_text().splitlines()) == 7:
                frames_csv = found[0]
                break
            time.sleep(0.1)
        assert frames_csv is not None, "the recording never held the 6 frames"
        serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=60)
    finally:
        serve.kill()
    assert serve.returncode == 0, err
    accounting = json.loads((frames_csv.parent / "accounting.json").read_text())
    assert accounting["received"] == accounting["processed"] == 6
    assert accounting["series_closed"] == {"end": 1}
    config = json.loads((frames_csv.parent / "config.json").read_text())
    assert config["ingest"]["endpoint"] == f"tcp://127.0.0.1:{port_in}"


def test_acquire_without_a_pipeline_fails_clearly(tmp_path):
    result = subprocess.run(
        [*NANOLIVE, "acquire", "--endpoint", f"tcp://127.0.0.1:{free_port()}", "--frames", "2",
         "--shape", "64", "64", "--send-timeout-s", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no pipeline took a frame" in result.stderr


def test_acquire_streams_a_file_with_its_calibration(running, tmp_path, capsys):
    import tifffile

    server, client = running()
    stack = np.stack([disks_image((48, 48), [(20, 14 + 3 * i)], 5, "<u2") for i in range(4)])
    tifffile.imwrite(tmp_path / "scan.tif", stack, imagej=True, resolution=(2.0, 2.0),
                     metadata={"unit": "nm", "axes": "TYX"})  # fmt: skip
    code = main(["acquire", "--file", str(tmp_path / "scan.tif"), "--repeat", "2", "--fps", "0",
                 "--endpoint", server.endpoints.ingest])  # fmt: skip
    assert code == 0
    assert "sent 8 frames of series 'scan.tif'" in capsys.readouterr().out
    assert client.wait_for(lambda: len(client.topic("frame")) == 8, 20.0)
    frames = client.topic("frame")
    assert [f["seq"] for f in frames] == list(range(8))
    assert all(f["pixel_size_nm"] == 0.5 and f["count"] == 1 for f in frames)


def test_acquire_streams_a_folder_of_images_as_one_series(running, tmp_path, capsys):
    import imageio.v3 as iio

    server, client = running()
    folder = tmp_path / "run7"
    folder.mkdir()
    for i in range(3):  # frame_10 after frame_2: natural order
        image = disks_image((48, 48), [(20, 14 + 3 * i)], 5, "<u2")
        iio.imwrite(folder / f"frame_{(1, 2, 10)[i]}.png", (image // 4).astype(np.uint8))
    code = main(["acquire", "--file", str(folder), "--fps", "0",
                 "--endpoint", server.endpoints.ingest])  # fmt: skip
    assert code == 0
    assert "sent 3 frames of series 'run7'" in capsys.readouterr().out
    assert client.wait_for(lambda: len(client.topic("frame")) == 3, 20.0)
    frames = client.topic("frame")
    assert [f["seq"] for f in frames] == [0, 1, 2] and all(f["count"] == 1 for f in frames)


def test_serve_on_a_busy_port_fails_clearly(running, capsys):
    server, _client = running()
    busy = server.endpoints.ingest
    code = main(["serve", "--listen", busy, "--no-metrics", "--no-record", "--engine", "classical"])
    assert code == 2
    assert "could not start the pipeline" in capsys.readouterr().err


def test_watch_shows_live_counts_from_a_running_pipeline(running):
    server, client = running()
    image = disks_image((48, 48), [(12, 12), (30, 30)], 5, "<u2")
    for seq in range(3):
        client.send_frame(image, "w", seq, pixel_size_nm=0.3)
    out = io.StringIO()
    state = watch(server.endpoints.publish, seconds=1.5, out=out, plain=True)
    for seq in range(3, 6):
        client.send_frame(image, "w", seq, pixel_size_nm=0.3)
    assert state.status["received"] >= 3
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("[watch]") for line in lines)
    assert "processed 3" in lines[-1]


def test_dashboard_renders_rates_drops_sizes_and_dispersion():
    state = DashboardState()
    state.update("status", {"fps_in": 9.5, "fps_out": 9.0, "queue_depth": 2, "queue_size": 64,
                            "policy": "block", "engine": "classical", "received": 100,
                            "processed": 97, "dropped": {"non_finite": 1}, "dropped_total": 1,
                            "in_flight": 2, "bad_messages": {"non_finite": 1}})  # fmt: skip
    state.update("frame", {"series": "s", "seq": 99, "count": 42, "tracked_count": 41, "active_tracks": 40,
                           "latency_s": 0.031, "metrics": {"diameter_equivalent_mean_nm": 2.5,
                           "clark_evans_r": 1.2, "coverage_fraction": 0.1}})  # fmt: skip
    state.update("particles", {"columns": {"diameter_equivalent_nm": [1.0, 2.0, 2.5, 4.0]}})
    state.update("events", {"series": "s", "seq": 99, "events": [{"kind": "merge"}]})
    text = "\n".join(render(state, "tcp://x:5556"))
    for expected in ("engine classical", "fps in 9.5", "queue 2/64 (block)", "received 100",
                     "non_finite 1", "particles 42", "tracked 41", "active tracks 40", "latency  last 31 ms",
                     "diameter (nm)  1 ", "clark_evans_r 1.2", "merge 1"):  # fmt: skip
        assert expected in text, expected


@pytest.mark.slow
def test_demo_runs_and_accounts_for_every_frame(tmp_path):
    result = subprocess.run(
        [*NANOLIVE, "demo", "--seconds", "5", "--plain", "--shape", "128", "128",
         "--set", f'record.folder="{tmp_path / "sessions"}"'],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for endpoint in ("frames in (PUSH here)", "results out (SUB here)", "Prometheus metrics"):
        assert endpoint in out
    assert "OK: every frame accounted for" in out
    sent = int(out.split("sent ")[1].split()[0])
    received = int(out.split("received ")[-1].split()[0])
    processed = int(out.split("processed ")[-1].split()[0])
    assert sent > 10 and received == sent and processed > 0
    assert list(Path(tmp_path / "sessions").glob("*/frames.csv"))
