"""Shopify's calculated-query-cost limit, modelled on the client so a query waits its turn.

Every Admin GraphQL answer carries `extensions.cost.throttleStatus` (`maximumAvailable`,
`currentlyAvailable`, `restoreRate` points per second). The model keeps the last reading and
refills it at the restore rate; each query reserves its expected cost before it is sent, so
concurrent fetches queue rather than all meeting THROTTLED at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any


class CostBucket:
    """A client-side leaky bucket fed from Shopify's `throttleStatus` readings."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._available: float | None = None
        self._maximum = 0.0
        self._rate = 0.0
        self._at = 0.0

    def reserve(self, cost: float, within_s: float) -> float | None:
        """Seconds to wait before a query of `cost` may go, or None if not within `within_s`."""
        with self._lock:
            if self._available is None or self._rate <= 0:
                return 0.0  # nothing known yet: let the server say
            now = self._monotonic()
            available = min(self._maximum, self._available + self._rate * (now - self._at))
            # A query dearer than the whole bucket can never fit; Shopify rejects it outright.
            cost = min(cost, self._maximum)
            wait = max(0.0, (cost - available) / self._rate)
            if wait > within_s:
                return None
            self._available, self._at = available - cost, now
            return wait

    def observe(self, throttle_status: Mapping[str, Any]) -> None:
        """Take Shopify's reading, unless the model already knows of less (see below)."""
        try:
            available = float(throttle_status["currentlyAvailable"])
            maximum = float(throttle_status["maximumAvailable"])
            rate = float(throttle_status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            now = self._monotonic()
            if self._available is not None and self._rate > 0:
                # Answers to concurrent queries arrive in any order: a reading taken before
                # another query was charged would hand back that query's points. The model
                # already counts every query reserved since, so the lower of the two stands
                # (at worst a query waits for a refund Shopify made: cost/rate seconds).
                modelled = min(self._maximum, self._available + self._rate * (now - self._at))
                available = min(available, modelled)
            self._available, self._maximum, self._rate = available, maximum, rate
            self._at = now

    def wait_for(self, cost: float, throttle_status: Mapping[str, Any]) -> float | None:
        """After THROTTLED: seconds until `cost` is restored, from the reading sent with it."""
        try:
            available = float(throttle_status["currentlyAvailable"])
            rate = float(throttle_status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return None
        if rate <= 0:
            return None
        return max(0.0, (cost - available) / rate)
