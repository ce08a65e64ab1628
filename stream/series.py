"""Per-series sequence bookkeeping (pure: the caller passes the clock in seconds).

Within a series, ``seq`` must increase. A repeated seq is rejected as ``duplicate_seq``, a smaller one as
``out_of_order_seq``; a jump forward is accepted and the skipped frames are counted as ``missing``
(never received, so they are not part of the received = processed + dropped balance). A series that
sends neither a frame nor an end message for ``timeout_s`` is closed as ``sender_vanished``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .protocol import ProtocolError


@dataclass
class SeriesState:
    """What the guard remembers of one open series."""

    last_seq: int
    last_seen_s: float
    frames: int = 1
    missing: int = 0


@dataclass
class SeriesGuard:
    """Checks seq order per series and finds series whose sender went silent."""

    timeout_s: float
    open: dict[str, SeriesState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"ingest.series_timeout_s must be > 0, not {self.timeout_s}")

    def accept(self, series: str, seq: int, now_s: float) -> int:
        """Record frame ``seq`` of ``series``; return how many frames were skipped before it.

        Raises :class:`ProtocolError` (``duplicate_seq`` / ``out_of_order_seq``) without recording.
        """
        state = self.open.get(series)
        if state is None:
            self.open[series] = SeriesState(last_seq=seq, last_seen_s=now_s)
            return 0
        if seq == state.last_seq:
            raise ProtocolError("duplicate_seq", f"series {series!r} seq {seq} already received")
        if seq < state.last_seq:
            raise ProtocolError(
                "out_of_order_seq", f"series {series!r} seq {seq} after seq {state.last_seq}"
            )
        gap = seq - state.last_seq - 1
        state.last_seq = seq
        state.last_seen_s = now_s
        state.frames += 1
        state.missing += gap
        return gap

    def end(self, series: str) -> SeriesState | None:
        """Close ``series`` on its end message; return its state (None if it sent no frame)."""
        return self.open.pop(series, None)

    def expire(self, now_s: float) -> list[str]:
        """Close and return the series silent for longer than ``timeout_s``."""
        stale = [name for name, s in self.open.items() if now_s - s.last_seen_s > self.timeout_s]
        for name in stale:
            del self.open[name]
        return stale
