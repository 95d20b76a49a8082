"""A per-customer cache in front of a connector: TTL, stale-while-revalidate, one fetch at a time.

- A fresh entry is answered without calling the store.
- A stale one (older than the TTL, younger than `max_stale_s`) is answered at once, marked
  `stale_reason="refreshing"`, while one background refresh runs; `on_refresh` hears its result.
- Concurrent requests for a customer with nothing usable cached share one in-flight fetch.
- A result degraded by the store's failure never replaces a better entry: the caller gets the
  cached data marked `stale_reason="store_unavailable"`.
- Bounded (least recently used out first); `erase` reaches in-flight fetches too.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import datetime

from store_hub.adapters.commerce.failures import (
    Clock,
    degraded_by_failure,
    erase_from,
    guarded_fetch,
    rank,
    system_clock,
    unavailable,
)
from store_hub.adapters.commerce.snapshot import (
    CommerceConnector,
    CustomerSearch,
    CustomerSnapshot,
    Problem,
    StaleReason,
)

log = logging.getLogger(__name__)

RefreshListener = Callable[[CustomerSnapshot], None]


@dataclass(frozen=True)
class CacheStats:
    """Counters for health pages and tests."""

    entries: int
    hits: int
    stale_hits: int
    misses: int
    coalesced: int
    refreshes: int
    kept_over_degraded: int


@dataclass
class _Entry:
    snapshot: CustomerSnapshot
    stored_at: datetime
    # Why the last refresh of this entry failed; cleared when a good result replaces it.
    refresh_problems: tuple[Problem, ...] = ()


@dataclass
class _Flight:
    future: Future[CustomerSnapshot]
    background: bool
    erased: bool = False


class CachingConnector:
    """A `CommerceConnector` that answers from a per-customer cache and refreshes behind it."""

    def __init__(
        self,
        inner: CommerceConnector,
        *,
        ttl_s: float = 300.0,
        degraded_ttl_s: float = 30.0,
        max_stale_s: float = 6 * 3600.0,
        max_entries: int = 5000,
        refresh_workers: int = 4,
        wait_timeout_s: float = 30.0,
        clock: Clock = system_clock,
        on_refresh: RefreshListener | None = None,
    ) -> None:
        if not 0 < ttl_s <= max_stale_s or degraded_ttl_s < 0 or max_entries < 1:
            raise ValueError("need 0 < ttl_s <= max_stale_s, degraded_ttl_s >= 0, max_entries >= 1")
        self._inner = inner
        self._ttl_s = ttl_s
        self._degraded_ttl_s = min(degraded_ttl_s, ttl_s)
        self._max_stale_s = max_stale_s
        self._max_entries = max_entries
        self._wait_timeout_s = wait_timeout_s
        self._clock = clock
        self.on_refresh = on_refresh
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._flights: dict[str, _Flight] = {}
        self._pool = ThreadPoolExecutor(refresh_workers, thread_name_prefix="commerce-refresh")
        self._hits = self._stale_hits = self._misses = self._coalesced = 0
        self._refreshes = self._kept = 0

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        """The cached snapshot if fresh, stale-and-refreshing if usable, else one shared fetch."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(customer_id)
            if entry is not None:
                self._entries.move_to_end(customer_id)
                age = (now - entry.stored_at).total_seconds()
                if age <= self._fresh_for(entry.snapshot):
                    self._hits += 1
                    return entry.snapshot
                if age <= self._max_stale_s and entry.snapshot.status != "unavailable":
                    self._stale_hits += 1
                    self._refresh_locked(customer_id)
                    reason: StaleReason = (
                        "store_unavailable" if entry.refresh_problems else "refreshing"
                    )
                    return _marked(entry, reason)
            flight = self._flights.get(customer_id)
            owner = flight is None
            if flight is None:
                self._misses += 1
                flight = self._flights[customer_id] = _Flight(Future(), background=False)
            else:
                self._coalesced += 1
        if owner:
            self._run(customer_id, flight)
        try:
            return flight.future.result(timeout=self._wait_timeout_s)
        except FutureTimeout:
            return unavailable(
                customer_id, self._clock(), "timeout", "the shared fetch did not finish"
            )

    def search_customers(self, query: str, limit: int) -> CustomerSearch:
        """The store's answer, never cached.

        A search is rare, must see the store's latest customers, and its query can itself be
        personal data the hub has no reason to keep.
        """
        return self._inner.search_customers(query, limit)

    def invalidate(self, customer_id: str) -> None:
        """Drop the customer's entry so the next request fetches afresh."""
        with self._lock:
            self._entries.pop(customer_id, None)

    def erase(self, customer_id: str) -> None:
        """Forget the customer here and below; a fetch in flight for them is not stored."""
        with self._lock:
            self._entries.pop(customer_id, None)
            flight = self._flights.get(customer_id)
            if flight is not None:
                flight.erased = True
        erase_from(self._inner, customer_id)

    def clear(self) -> None:
        """Forget every customer (configuration changed, say)."""
        with self._lock:
            self._entries.clear()
            for flight in self._flights.values():
                flight.erased = True

    def stats(self) -> CacheStats:
        """How the cache has been doing since it started."""
        with self._lock:
            return CacheStats(
                entries=len(self._entries),
                hits=self._hits,
                stale_hits=self._stale_hits,
                misses=self._misses,
                coalesced=self._coalesced,
                refreshes=self._refreshes,
                kept_over_degraded=self._kept,
            )

    def wait_for_refreshes(self, timeout_s: float) -> bool:
        """Block until no fetch is in flight (tests, orderly shutdown); False on timeout."""
        with self._lock:
            pending = [f.future for f in self._flights.values()]
        for future in pending:
            try:
                future.result(timeout=timeout_s)
            except FutureTimeout:
                return False
        return True

    def close(self) -> None:
        """Stop refreshing; refreshes under way finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _fresh_for(self, snapshot: CustomerSnapshot) -> float:
        return self._ttl_s if snapshot.status == "ok" else self._degraded_ttl_s

    def _refresh_locked(self, customer_id: str) -> None:
        if customer_id in self._flights:
            return  # one refresh per customer: no thundering herd on a popular stale entry
        flight = self._flights[customer_id] = _Flight(Future(), background=True)
        self._refreshes += 1
        try:
            self._pool.submit(self._run, customer_id, flight)
        except RuntimeError:  # closed: serve stale rather than fail the arrival
            del self._flights[customer_id]
            flight.future.cancel()

    def _run(self, customer_id: str, flight: _Flight) -> None:
        started = self._clock()
        fresh = guarded_fetch(self._inner, customer_id, self._clock)
        with self._lock:
            result = self._settle(customer_id, fresh, started, flight)
            if self._flights.get(customer_id) is flight:
                del self._flights[customer_id]
        flight.future.set_result(result)
        listener = self.on_refresh
        if flight.background and not flight.erased and listener is not None:
            try:
                listener(result)
            except Exception:
                log.exception("commerce refresh listener failed for customer %s", customer_id)

    def _settle(
        self, customer_id: str, fresh: CustomerSnapshot, started: datetime, flight: _Flight
    ) -> CustomerSnapshot:
        """Store `fresh` or keep the better entry; what the waiting callers get."""
        if flight.erased:
            return fresh
        entry = self._entries.get(customer_id)
        usable = (
            entry is not None
            and (started - entry.stored_at).total_seconds() <= self._max_stale_s
            and entry.snapshot.status != "unavailable"
        )
        worse = entry is not None and rank(fresh) < rank(entry.snapshot)
        if entry is not None and usable and worse and degraded_by_failure(fresh):
            entry.refresh_problems = fresh.problems
            self._kept += 1
            return _marked(entry, "store_unavailable")
        if all(p.kind == "circuit_open" for p in fresh.problems) and fresh.problems:
            return fresh  # the store was not even asked: nothing worth remembering
        self._entries[customer_id] = _Entry(fresh, started)
        self._entries.move_to_end(customer_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return fresh


def _marked(entry: _Entry, reason: StaleReason) -> CustomerSnapshot:
    return replace(entry.snapshot, stale_reason=reason, refresh_problems=entry.refresh_problems)
