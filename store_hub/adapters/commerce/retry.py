"""Fetch once more when the store could not be reached, if the deadline leaves room.

Only connect-level failures (`unreachable`: refused, reset, DNS) are retried: every call behind
a snapshot is a read, so repeating it is safe, and such failures come back fast. A timeout is
never retried: the deadline it ran into is the one a retry would spend again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from store_hub.adapters.commerce.failures import erase_from, rank
from store_hub.adapters.commerce.snapshot import CommerceConnector, CustomerSearch, CustomerSnapshot


class RetryingConnector:
    """A `CommerceConnector` that retries an unreachable store at most once, within a deadline."""

    def __init__(
        self,
        inner: CommerceConnector,
        *,
        attempt_timeout_s: float,
        deadline_s: float,
        backoff_s: float = 0.05,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = inner
        self._attempt_timeout_s = attempt_timeout_s
        self._deadline_s = deadline_s
        self._backoff_s = backoff_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._retries = 0

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        """The inner snapshot; if a part was unreachable and time allows, the better of two."""
        start = self._monotonic()
        first = self._inner.fetch_customer(customer_id)
        if not any(p.kind == "unreachable" for p in first.problems):
            return first
        # A retry may take a whole attempt: start it only if it still ends within the deadline.
        spent = self._monotonic() - start
        if spent + self._backoff_s + self._attempt_timeout_s > self._deadline_s:
            return first
        with self._lock:
            self._retries += 1
        self._sleep(self._backoff_s)
        second = self._inner.fetch_customer(customer_id)
        return second if rank(second) >= rank(first) else first

    def search_customers(self, query: str, limit: int) -> CustomerSearch:
        """The inner search; once more if the store was unreachable and time allows."""
        start = self._monotonic()
        first = self._inner.search_customers(query, limit)
        if first.problem is None or first.problem.kind != "unreachable":
            return first
        spent = self._monotonic() - start
        if spent + self._backoff_s + self._attempt_timeout_s > self._deadline_s:
            return first
        with self._lock:
            self._retries += 1
        self._sleep(self._backoff_s)
        return self._inner.search_customers(query, limit)

    @property
    def retries(self) -> int:
        """Retries made so far."""
        with self._lock:
            return self._retries

    def erase(self, customer_id: str) -> None:
        """Nothing is kept per customer here; pass the erasure on."""
        erase_from(self._inner, customer_id)
