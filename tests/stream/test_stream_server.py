"""End to end over real loopback TCP: frames in, results out in order, /metrics, every frame counted."""

from __future__ import annotations

import logging
import urllib.request

import msgpack
import numpy as np
import pytest
import tifffile
from nanolive.stream.protocol import encode_frame, header_for
from prometheus_client.parser import text_string_to_metric_families
from stream_kit import FlakyEngine, SlowEngine, disks_image


def scrape(server) -> dict[tuple[str, tuple], float]:
    """Return {(sample name, sorted labels): value} read over HTTP from the server's /metrics."""
    text = urllib.request.urlopen(server.endpoints.metrics_url, timeout=5).read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def balanced(acc) -> bool:
    return acc.in_flight == 0 and acc.received == acc.processed + acc.dropped_total


CENTRES = [(12, 12), (12, 40), (34, 26)]
CASES = [  # (series, shape, dtype): several dtypes and shapes, two interleaved series
    ("a", (48, 56), "|u1"),
    ("b", (64, 48), "<u2"),
    ("a", (48, 56), ">u2"),
    ("b", (64, 48), "<i4"),
    ("a", (48, 56), "<f4"),
    ("b", (64, 48), "<f8"),
    ("a", (48, 56), "<u2"),
    ("b", (64, 48), "|u1"),
]


def test_frames_of_several_dtypes_and_shapes_come_back_in_order_and_are_counted(running):
    server, client = running()
    seqs = {"a": 0, "b": 0}
    for series, shape, dtype in CASES:
        client.send_frame(
            disks_image(shape, CENTRES, 6, dtype), series, seqs[series], pixel_size_nm=0.5
        )
        seqs[series] += 1
    client.send_end("a")
    client.send_end("b")
    n = len(CASES)
    assert client.wait_for(
        lambda: len(client.topic("frame")) == n and len(client.topic("particles")) == n, 30.0
    )
    frames = client.topic("frame")
    for series in ("a", "b"):
        assert [f["seq"] for f in frames if f["series"] == series] == [0, 1, 2, 3]
    assert all(f["count"] == 3 for f in frames)  # three disks found in every dtype and shape
    # Tracks are confirmed on their second frame; from then on all three are tracked.
    assert [f["tracked_count"] for f in frames if f["series"] == "a"] == [0, 3, 3, 3]
    assert all(f["latency_s"] >= 0 for f in frames)
    particles = client.topic("particles")
    assert len(particles) == n
    cols = particles[0]["columns"]
    for name in ("track_id", "label", "x", "y", "area_px", "diameter_equivalent_nm"):
        assert len(cols[name]) == 3
    assert sorted(round(y) for y in cols["y"]) == [12, 12, 34]  # y = row
    assert sorted(round(x) for x in cols["x"]) == [12, 26, 40]  # x = column
    assert server.wait_until(balanced, 10.0)
    metrics = scrape(server)
    assert metrics[("nanolive_frames_received_total", ())] == n
    assert metrics[("nanolive_frames_processed_total", ())] == n
    assert metrics[("nanolive_frame_latency_seconds_count", ())] == n
    assert metrics[("nanolive_particles_per_frame_sum", ())] == 3 * n
    assert metrics[("nanolive_series_closed_total", (("reason", "end"),))] == 2
    assert metrics[("nanolive_particle_diameter_mean_meters", ())] == pytest.approx(
        6.5e-9, rel=0.15
    )


def good(seq: int, series: str = "s") -> list[bytes]:
    image = disks_image((32, 32), [(16, 16)], 5, "<f4")
    return encode_frame(header_for(image, series, seq, 1.0), image)


def with_header(**changes) -> list[bytes]:
    parts = good(0)
    head = msgpack.unpackb(parts[0])
    head.update(changes)
    return [msgpack.packb(head), parts[1]]


def nan_frame() -> list[bytes]:
    image = np.ones((32, 32), np.float32)
    image[3, 4] = np.nan
    return encode_frame(header_for(image, "s", 0, 1.0), image)


BAD = {
    "undecodable": lambda: [b"\xc1 not msgpack", good(0)[1]],
    "bad_parts": lambda: good(0)[:1],
    "length_mismatch": lambda: [good(0)[0], good(0)[1][:-4]],
    "unknown_version": lambda: with_header(v=7),
    "too_large": lambda: with_header(shape=[4096, 32]),
    "non_finite": nan_frame,
    "bad_dtype": lambda: with_header(dtype="<c16"),
    "bad_header": lambda: with_header(seq="zero"),
}


@pytest.mark.parametrize("reason", sorted(BAD))
def test_each_bad_message_is_counted_logged_and_the_next_frame_served(running, caplog, reason):
    server, client = running(ingest={"max_rows": 1024})
    caplog.set_level(logging.WARNING, logger="nanolive.stream.ingest")
    client.send(BAD[reason]())
    if reason == "bad_parts":
        client.send(good(0) + [b"\x01" * 1024, b"extra"])  # extra parts, the same reason
    client.send(good(0))
    assert client.wait_for(lambda: len(client.topic("frame")) == 1, 20.0)
    assert server.wait_until(balanced, 5.0)
    acc = server.accounting()
    expected = 2 if reason == "bad_parts" else 1
    assert acc.bad_messages == {reason: expected}
    assert acc.dropped == {reason: expected}
    assert acc.processed == 1 and acc.received == expected + 1
    lines = [r.getMessage() for r in caplog.records if reason in r.getMessage()]
    assert lines and "bad message dropped" in lines[0]
    assert scrape(server)[("nanolive_bad_messages_total", (("reason", reason),))] == expected


def test_duplicate_and_out_of_order_seq_are_dropped_and_gaps_counted(running, caplog):
    server, client = running()
    caplog.set_level(logging.WARNING, logger="nanolive.stream.ingest")
    for seq in (0, 1, 1, 3, 2, 4):
        client.send(good(seq))
    assert client.wait_for(lambda: len(client.topic("frame")) == 4, 20.0)
    assert [f["seq"] for f in client.topic("frame")] == [0, 1, 3, 4]
    assert server.wait_until(balanced, 5.0)
    acc = server.accounting()
    assert acc.bad_messages == {"duplicate_seq": 1, "out_of_order_seq": 1}
    assert acc.received == 6 and acc.processed == 4 and acc.missing == 1
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "duplicate_seq" in messages and "out_of_order_seq" in messages and "missing" in messages


def test_a_sender_that_vanishes_mid_series_is_closed_with_a_reason(running, caplog):
    server, client = running(ingest={"series_timeout_s": 0.3})
    caplog.set_level(logging.WARNING, logger="nanolive.stream.ingest")
    client.send(good(0, "gone"))
    client.send(good(1, "gone"))
    assert server.wait_until(lambda a: a.series_closed.get("sender_vanished") == 1, 10.0)
    assert client.wait_for(lambda: any(e["seq"] is None for e in client.topic("events")), 5.0)
    closing = [e for e in client.topic("events") if e["seq"] is None][0]
    assert closing["series"] == "gone"
    assert any("sender vanished" in r.getMessage() for r in caplog.records)
    client.send(good(0, "next"))  # still serving
    assert client.wait_for(lambda: len(client.topic("frame")) == 3, 10.0)
    assert scrape(server)[("nanolive_series_closed_total", (("reason", "sender_vanished"),))] == 1


def test_drop_oldest_under_a_flood_accounts_for_every_frame_and_keeps_order(running):
    engine = SlowEngine(delay_s=0.02)
    server, client = running(
        engine=engine,
        ingest={"policy": "drop_oldest", "queue_size": 3, "rcvhwm": 1000},
        batching={"max_batch": 1},
    )
    n = 60
    for seq in range(n):
        client.send(good(seq))
    client.send_end("s")
    assert server.wait_until(lambda a: a.received == n and balanced(a), 30.0)
    acc = server.accounting()
    assert acc.dropped.get("queue_full", 0) > 0
    assert acc.processed + acc.dropped["queue_full"] == n
    assert set(acc.dropped) == {"queue_full"}
    assert client.wait_for(lambda: len(client.topic("frame")) == acc.processed, 10.0)
    seqs = [f["seq"] for f in client.topic("frame")]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert seqs[-1] == n - 1  # drop-oldest keeps the newest frame
    metrics = scrape(server)
    assert (
        metrics[("nanolive_frames_dropped_total", (("reason", "queue_full"),))] == acc.dropped_total
    )
    assert metrics[("nanolive_frames_processed_total", ())] == acc.processed


def test_block_policy_under_a_flood_loses_nothing(running):
    server, client = running(
        engine=SlowEngine(delay_s=0.005),
        ingest={"policy": "block", "queue_size": 2, "rcvhwm": 2},
        batching={"max_batch": 4, "max_wait_ms": 5.0},
    )
    n = 40
    for seq in range(n):
        client.send(good(seq))
    assert server.wait_until(lambda a: a.received == n and balanced(a), 30.0)
    acc = server.accounting()
    assert acc.processed == n and acc.dropped_total == 0
    assert client.wait_for(lambda: len(client.topic("frame")) == n, 10.0)
    assert [f["seq"] for f in client.topic("frame")] == list(range(n))
    assert max(server.engine.batches) > 1  # the queue backed up and the batcher used it


def test_engine_errors_drop_only_the_failing_frame(running, caplog):
    server, client = running(
        engine=FlakyEngine(0.0), batching={"max_batch": 4, "max_wait_ms": 200.0}
    )
    caplog.set_level(logging.WARNING, logger="nanolive.stream.pipeline")
    poison = np.full((32, 32), 99.0, np.float32)
    client.send(good(0))
    client.send(encode_frame(header_for(poison, "s", 1, 1.0), poison))
    client.send(good(2))
    assert server.wait_until(lambda a: a.received == 3 and balanced(a), 20.0)
    acc = server.accounting()
    assert acc.dropped == {"engine_error": 1} and acc.processed == 2
    assert client.wait_for(lambda: len(client.topic("frame")) == 2, 5.0)
    assert [f["seq"] for f in client.topic("frame")] == [0, 2]
    assert any("poisoned frame" in r.getMessage() for r in caplog.records)


def test_stop_drains_frames_in_flight_and_the_recording_has_them(running):
    server, client = running(
        engine=SlowEngine(delay_s=0.02),
        ingest={"queue_size": 64},
        record={"save_raw": True, "save_labels": True},
    )
    n = 20
    for seq in range(n):
        client.send(good(seq))
    assert server.wait_until(lambda a: a.received == n, 10.0)
    assert server.accounting().processed < n  # still working when asked to stop
    acc = server.stop()
    assert acc.processed == n and acc.in_flight == 0
    folder = server.endpoints.session_folder
    frames = (folder / "frames.csv").read_text().splitlines()
    assert len(frames) == n + 1
    header = frames[0].split(",")
    assert header[:5] == ["source", "frame", "t_s", "count", "active_tracks"]
    assert header[-1] == "tracked_count"
    particles = (folder / "particles.csv").read_text().splitlines()
    assert particles[0].startswith("source,frame,t_s,track_id,label,x,y,area_px")
    assert len(particles) == n + 1  # one disk per frame
    assert (folder / "accounting.json").exists()
    raw = tifffile.imread(folder / "raw" / "s.tif")
    assert raw.shape == (n, 32, 32) and raw.dtype == np.float32
    labels = tifffile.imread(folder / "labels" / "s.tif")
    assert labels.shape == (n, 32, 32) and (labels.max(axis=(1, 2)) == 1).all()


def test_status_messages_report_rates_queue_and_engine(running):
    server, client = running()
    for seq in range(5):
        client.send(good(seq))
    assert client.wait_for(lambda: any(s["processed"] == 5 for s in client.topic("status")), 10.0)
    status = client.topic("status")[-1]
    for key in ("fps_in", "fps_out", "queue_depth", "batch_size_mean", "dropped", "bad_messages"):
        assert key in status
    assert status["engine"] == "classical"


def test_sparse_frames_with_a_mask_are_filled_and_processed(running):
    server, client = running()
    image = disks_image((40, 40), [(20, 20)], 6, "<f4")
    mask = np.ones(image.shape, np.uint8)
    mask[::3, :] = 0  # every third line not scanned; its pixels hold garbage
    sparse = np.where(mask == 1, image, 1000.0).astype(np.float32)
    client.send(encode_frame(header_for(sparse, "sp", 0, 1.0), sparse, mask))
    assert client.wait_for(lambda: len(client.topic("particles")) == 1, 10.0)
    # unfilled, the garbage lines hide the disk (0 particles); filled, the disk is found whole
    columns = client.topic("particles")[0]["columns"]
    assert columns["area_px"] and abs(columns["area_px"][0] - np.pi * 36) < 25
    assert round(columns["x"][0]) == 20 and round(columns["y"][0]) == 20
