"""Coalescing per-key updates: at most one send per key per interval, the latest state wins.

The IT view gets a change for an agent on every status, report flush and approval; a busy store
would flood tablets. Marks made while a key is inside its interval merge into one trailing send
when the interval ends, so nothing is lost and nothing is sent twice within the interval.
Times are plain seconds from any monotonic clock the caller owns.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Coalescer(Generic[K]):
    """Which marked keys are due for sending, given when each was last sent."""

    def __init__(self, interval_s: float) -> None:
        """Send each key at most once per `interval_s` seconds."""
        if interval_s < 0:
            raise ValueError("interval_s must not be negative")
        self._interval = interval_s
        self._last_sent: dict[K, float] = {}
        self._marked: set[K] = set()

    def mark(self, keys: Iterable[K]) -> None:
        """These keys changed and need sending."""
        self._marked.update(keys)

    def next_due(self) -> float | None:
        """When the earliest marked key may be sent (None: nothing marked)."""
        if not self._marked:
            return None
        return min(self._due_at(key) for key in self._marked)

    def take_due(self, now: float) -> list[K]:
        """The marked keys that may be sent at `now`; they count as sent at `now`."""
        due = [key for key in self._marked if self._due_at(key) <= now]
        for key in due:
            self._marked.discard(key)
            self._last_sent[key] = now
        self._forget_idle(now)
        return due

    def _due_at(self, key: K) -> float:
        last = self._last_sent.get(key)
        return float("-inf") if last is None else last + self._interval

    def _forget_idle(self, now: float) -> None:
        # Keys whose interval has passed behave as never sent; dropping them bounds the memory.
        idle = [
            key
            for key, last in self._last_sent.items()
            if last + self._interval <= now and key not in self._marked
        ]
        for key in idle:
            del self._last_sent[key]
