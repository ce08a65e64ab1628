"""The bounded queue between the ingest thread and the worker, with an explicit policy when full.

``block``: the producer waits for room (the ingest thread stops reading the socket, ZeroMQ's high-water
mark fills, and the sender blocks: backpressure). ``drop_oldest``: the oldest queued *frame* is removed
and handed back to the producer so it can be counted; control items (series ends) are never dropped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

POLICIES: tuple[str, ...] = ("block", "drop_oldest")


class Closed(Exception):
    """Raised by ``put`` after ``close``."""


class BoundedQueue(Generic[T]):
    """A thread-safe FIFO of at most ``maxsize`` droppable items (control items do not count)."""

    def __init__(self, maxsize: int, policy: str, droppable: Callable[[T], bool]) -> None:
        if maxsize < 1:
            raise ValueError(f"ingest.queue_size must be >= 1, not {maxsize}")
        if policy not in POLICIES:
            raise ValueError(f"ingest.policy must be one of {POLICIES}, not {policy!r}")
        self.maxsize = maxsize
        self.policy = policy
        self.droppable = droppable
        self._items: deque[T] = deque()
        self._frames = 0
        self._cond = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    @property
    def depth(self) -> int:
        """Number of queued droppable items (frames)."""
        with self._cond:
            return self._frames

    def put(self, item: T, timeout_s: float | None = None) -> list[T]:
        """Queue ``item``; return the items dropped to make room (drop_oldest), else [].

        With ``block``, waits for room; returns [item] itself if ``timeout_s`` passes first, so the
        caller can count it. Raises :class:`Closed` after :meth:`close`.
        """
        with self._cond:
            if self._closed:
                raise Closed
            if not self.droppable(item):
                self._append(item)
                return []
            dropped: list[T] = []
            if self.policy == "drop_oldest":
                while self._frames >= self.maxsize:
                    dropped.append(self._remove_oldest_frame())
            else:
                deadline = None if timeout_s is None else time.monotonic() + timeout_s
                while self._frames >= self.maxsize and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return [item]
                    self._cond.wait(remaining)
                if self._closed:
                    raise Closed
            self._append(item)
            return dropped

    def get(self, timeout_s: float) -> T | None:
        """Return the oldest item, or None if none arrives within ``timeout_s``."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items, timeout_s):
                return None
            return self._pop()

    def pop_if(self, accept: Callable[[T], bool], timeout_s: float) -> tuple[T | None, bool]:
        """Return (head, True) if the head satisfies ``accept``; (None, blocked) otherwise.

        Waits up to ``timeout_s`` for an item. ``blocked`` is True when the queue holds an item
        that was not accepted (the caller should stop collecting), False when it stayed empty.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self._items, max(timeout_s, 0.0)):
                return None, False
            if accept(self._items[0]):
                return self._pop(), True
            return None, True

    def close(self) -> None:
        """Refuse further puts and wake every waiter; queued items can still be taken."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _append(self, item: T) -> None:
        self._items.append(item)
        if self.droppable(item):
            self._frames += 1
        self._cond.notify_all()

    def _pop(self) -> T:
        item = self._items.popleft()
        if self.droppable(item):
            self._frames -= 1
        self._cond.notify_all()
        return item

    def _remove_oldest_frame(self) -> T:
        for i, item in enumerate(self._items):
            if self.droppable(item):
                del self._items[i]
                self._frames -= 1
                return item
        raise RuntimeError("no droppable item although the frame count says full")
