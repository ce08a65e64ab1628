"""The bounded ingest queue (block / drop-oldest) and the dynamic batcher."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from nanolive.stream.batcher import Batcher
from nanolive.stream.framequeue import BoundedQueue, Closed
from nanolive.stream.ingest import QueuedFrame, SeriesClosed, is_frame
from nanolive.stream.protocol import FrameMessage, header_for


def queued(seq: int, shape: tuple[int, int] = (4, 4)) -> QueuedFrame:
    image = np.zeros(shape, np.uint8)
    return QueuedFrame(FrameMessage(header_for(image, "s", seq, 0.0), image), time.monotonic())


def test_drop_oldest_hands_back_the_oldest_frames_and_keeps_markers():
    q: BoundedQueue = BoundedQueue(2, "drop_oldest", is_frame)
    assert q.put(queued(0)) == []
    assert q.put(SeriesClosed("s", "end")) == []
    assert q.put(queued(1)) == []
    dropped = q.put(queued(2))
    assert [d.message.header.seq for d in dropped] == [0]
    assert q.depth == 2 and len(q) == 3
    items = [q.get(0.1) for _ in range(3)]
    assert isinstance(items[0], SeriesClosed)
    assert [i.message.header.seq for i in items[1:]] == [1, 2]


def test_block_waits_for_room_and_times_out_with_the_item():
    q: BoundedQueue = BoundedQueue(1, "block", is_frame)
    q.put(queued(0))
    late = queued(1)
    assert q.put(late, timeout_s=0.05) == [late]  # full: handed back, not queued
    got = []
    consumer = threading.Timer(0.1, lambda: got.append(q.get(1.0)))
    consumer.start()
    t0 = time.monotonic()
    assert q.put(queued(2), timeout_s=2.0) == []  # waits until the consumer took one
    assert time.monotonic() - t0 >= 0.05
    consumer.join()
    assert got[0].message.header.seq == 0
    assert q.get(0.1).message.header.seq == 2


def test_closed_queue_refuses_puts_but_can_be_drained():
    q: BoundedQueue = BoundedQueue(4, "block", is_frame)
    q.put(queued(0))
    q.close()
    with pytest.raises(Closed):
        q.put(queued(1))
    assert q.get(0.1).message.header.seq == 0
    assert q.get(0.01) is None


@pytest.mark.parametrize(("size", "policy"), [(0, "block"), (2, "lifo")])
def test_queue_rejects_bad_settings(size, policy):
    with pytest.raises(ValueError):
        BoundedQueue(size, policy, is_frame)


def test_batcher_groups_same_shape_up_to_max_batch_and_returns_markers_alone():
    q: BoundedQueue = BoundedQueue(100, "block", is_frame)
    for seq in range(5):
        q.put(queued(seq))
    q.put(queued(5, (8, 8)))
    q.put(SeriesClosed("s", "end"))
    q.put(queued(6, (8, 8)))
    batcher = Batcher(q, max_batch=3, max_wait_s=0.0)
    seqs = []
    while (got := batcher.next(0.01)) is not None:
        seqs.append("end" if isinstance(got, SeriesClosed) else [f.message.header.seq for f in got])
    assert seqs == [[0, 1, 2], [3, 4], [5], "end", [6]]


def test_batcher_waits_at_most_max_wait_for_a_fuller_batch():
    q: BoundedQueue = BoundedQueue(100, "block", is_frame)
    batcher = Batcher(q, max_batch=4, max_wait_s=0.2)
    q.put(queued(0))
    threading.Timer(0.05, lambda: q.put(queued(1))).start()
    t0 = time.monotonic()
    batch = batcher.next(0.5)
    waited = time.monotonic() - t0
    assert [f.message.header.seq for f in batch] == [0, 1]
    assert 0.15 <= waited < 1.0  # held until max_wait since no 4th frame came


def test_bad_message_log_is_rate_limited_per_reason(caplog):
    import logging

    from nanolive.stream.ingest import RateLimitedLog

    logger = logging.getLogger("test.ratelimit")
    limited = RateLimitedLog(logger, interval_s=0.2)
    with caplog.at_level(logging.WARNING, logger="test.ratelimit"):
        logged = [limited.warning("non_finite", f"bad {i}") for i in range(5)]
        assert limited.warning("undecodable", "other reason")  # reasons are independent
        time.sleep(0.25)
        assert limited.warning("non_finite", "bad again")
    assert logged == [True, False, False, False, False]
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "bad 0" and messages[1] == "other reason"
    assert messages[2].startswith("bad again (4 more like this")
