"""A circuit breaker per connector: stop calling a store that keeps failing, try again later.

Closed, it counts consecutive fetches that failed for the store's sake (timeouts, refused
connections, 5xx, throttling: see `failures.is_store_failure`); at `failure_threshold` it opens.
Open, it answers at once with an `unavailable` snapshot whose problems are `circuit_open`, without
calling the store. After `cooldown_s` it is half-open: one trial fetch goes through while others
still fail fast; success closes it, failure opens it for another cool-down.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.commerce.failures import (
    Clock,
    erase_from,
    guarded_fetch,
    guarded_search,
    is_store_failure,
    search_is_store_failure,
    system_clock,
    unavailable,
)
from store_hub.adapters.commerce.snapshot import (
    CommerceConnector,
    CustomerSearch,
    CustomerSnapshot,
    search_failed,
    search_refused,
)
from store_hub.domain.customer_search import QueryRefused, checked_query

log = logging.getLogger(__name__)

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class BreakerStatus:
    """The breaker as a health page shows it."""

    name: str
    state: BreakerState
    consecutive_failures: int
    opened_at: datetime | None
    retry_at: datetime | None
    fast_failures: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, times RFC 3339 UTC."""
        return {
            "name": self.name,
            "state": self.state,
            "consecutive_failures": self.consecutive_failures,
            "opened_at": None if self.opened_at is None else format_timestamp(self.opened_at),
            "retry_at": None if self.retry_at is None else format_timestamp(self.retry_at),
            "fast_failures": self.fast_failures,
        }


class CircuitBreakerConnector:
    """A `CommerceConnector` that fails fast while the store behind it is failing."""

    def __init__(
        self,
        inner: CommerceConnector,
        *,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Clock = system_clock,
        name: str = "commerce",
    ) -> None:
        if failure_threshold < 1 or cooldown_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown_s > 0")
        self._inner = inner
        self._threshold = failure_threshold
        self._cooldown = timedelta(seconds=cooldown_s)
        self._clock = clock
        self._name = name
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at: datetime | None = None
        self._trial_running = False
        self._fast_failures = 0

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        """The inner connector's snapshot, or a `circuit_open` one without calling the store."""
        now = self._clock()
        allowed, trial, detail = self._admit(now)
        if not allowed:
            return unavailable(customer_id, now, "circuit_open", detail)
        snapshot = guarded_fetch(self._inner, customer_id, self._clock)
        self._record(is_store_failure(snapshot), trial)
        return snapshot

    def search_customers(self, query: str, limit: int) -> CustomerSearch:
        """The inner search, or a `circuit_open` answer: one store, one breaker for both calls."""
        try:
            checked_query(query)
        except QueryRefused as refused:
            # Never reaches the store, so it must neither fail fast nor count as a trial.
            return search_refused(query, "invalid_query", refused.message)
        allowed, trial, detail = self._admit(self._clock())
        if not allowed:
            return search_failed(query, "circuit_open", detail)
        search = guarded_search(self._inner, query, limit)
        self._record(search_is_store_failure(search), trial)
        return search

    def _admit(self, now: datetime) -> tuple[bool, bool, str]:
        """(may call the store, is the half-open trial, why not when it may not)."""
        with self._lock:
            cooled = self._opened_at is not None and now >= self._opened_at + self._cooldown
            if self._state == "open" and cooled:
                self._state, self._trial_running = "half_open", False
            if self._state == "half_open" and not self._trial_running:
                self._trial_running = True
                return True, True, ""
            if self._state == "closed":
                return True, False, ""
            self._fast_failures += 1
            retry_at = self._retry_at()
            return (
                False,
                False,
                "online store failing; not called"
                + ("" if retry_at is None else f" before {format_timestamp(retry_at)}"),
            )

    def status(self) -> BreakerStatus:
        """State, failure count and when the next trial may run."""
        with self._lock:
            return BreakerStatus(
                name=self._name,
                state=self._state,
                consecutive_failures=self._failures,
                opened_at=self._opened_at,
                retry_at=self._retry_at(),
                fast_failures=self._fast_failures,
            )

    def erase(self, customer_id: str) -> None:
        """Nothing is kept per customer here; pass the erasure on."""
        erase_from(self._inner, customer_id)

    def _retry_at(self) -> datetime | None:
        return None if self._opened_at is None else self._opened_at + self._cooldown

    def _record(self, failed: bool, trial: bool) -> None:
        with self._lock:
            if trial:
                self._trial_running = False
                if failed:
                    self._open(self._failures + 1)
                else:
                    self._close()
            elif self._state == "closed":
                # Late answers from calls begun before the breaker opened do not move it: only
                # the half-open trial decides when it closes again.
                if not failed:
                    self._failures = 0
                elif self._failures + 1 >= self._threshold:
                    self._open(self._failures + 1)
                else:
                    self._failures += 1

    def _open(self, failures: int) -> None:
        self._state, self._failures, self._opened_at = "open", failures, self._clock()
        log.warning(
            "online store breaker %s open after %d failures; next try at %s",
            self._name,
            failures,
            format_timestamp(self._opened_at + self._cooldown),
        )

    def _close(self) -> None:
        if self._state != "closed":
            log.info("online store breaker %s closed: the store answers again", self._name)
        self._state, self._failures, self._opened_at = "closed", 0, None
