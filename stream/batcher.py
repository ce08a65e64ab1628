"""The dynamic batcher: groups queued frames of one shape, up to ``max_batch`` or ``max_wait_s``.

A batch starts with the oldest queued frame and takes the following frames while they have the same
shape, until it holds ``max_batch`` frames or ``max_wait_s`` has passed since it started. A series
marker is never part of a batch: it is returned alone, after the frames queued before it.
"""

from __future__ import annotations

import time

from .framequeue import BoundedQueue
from .ingest import QueuedFrame, QueueItem, SeriesClosed


class Batcher:
    """Takes batches from the ingest queue (one consumer only)."""

    def __init__(self, queue: BoundedQueue[QueueItem], max_batch: int, max_wait_s: float) -> None:
        if max_batch < 1:
            raise ValueError(f"batching.max_batch must be >= 1, not {max_batch}")
        if max_wait_s < 0:
            raise ValueError(f"batching.max_wait_ms must be >= 0, not {max_wait_s * 1e3}")
        self.queue = queue
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s

    def next(self, poll_s: float) -> list[QueuedFrame] | SeriesClosed | None:
        """Return the next batch, or a series marker, or None if nothing came within ``poll_s``."""
        first = self.queue.get(poll_s)
        if first is None or isinstance(first, SeriesClosed):
            return first
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        shape = first.shape
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            item, _blocked = self.queue.pop_if(
                lambda it: isinstance(it, QueuedFrame) and it.shape == shape, max(remaining, 0.0)
            )
            if item is None:
                break  # empty until the deadline, or the next item does not fit this batch
            batch.append(item)
        return batch
