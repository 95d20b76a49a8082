"""The fetching policy as one connector: cache over circuit breaker over retry over a store.

    connector = PolicyConnector(ReferenceStoreConnector(url, key, timeout_s=2.0),
                                FetchPolicy(attempt_timeout_s=2.0))

Order matters: the cache answers fresh entries without touching anything below; the breaker
sees one outcome per (possibly retried) fetch; the retry is closest to the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from store_hub.adapters.commerce.breaker import BreakerStatus, CircuitBreakerConnector
from store_hub.adapters.commerce.cache import CacheStats, CachingConnector, RefreshListener
from store_hub.adapters.commerce.failures import Clock, system_clock
from store_hub.adapters.commerce.retry import RetryingConnector
from store_hub.adapters.commerce.snapshot import CommerceConnector, CustomerSearch, CustomerSnapshot


@dataclass(frozen=True)
class FetchPolicy:
    """How the hub fetches from an online store (defaults suit one store's hub)."""

    ttl_s: float = 300.0
    degraded_ttl_s: float = 30.0
    max_stale_s: float = 6 * 3600.0
    max_entries: int = 5000
    refresh_workers: int = 4
    failure_threshold: int = 5
    cooldown_s: float = 30.0
    # The connector's own per-fetch timeout, and the most a fetch may take with its one retry.
    attempt_timeout_s: float = 2.0
    retry_deadline_s: float = 2.5


class PolicyConnector:
    """A `CommerceConnector` with caching, a circuit breaker and safe retries around `store`."""

    def __init__(
        self,
        store: CommerceConnector,
        policy: FetchPolicy | None = None,
        *,
        name: str = "commerce",
        clock: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_refresh: RefreshListener | None = None,
    ) -> None:
        self.policy = policy = policy or FetchPolicy()
        self.store = store
        self.retry = RetryingConnector(
            store,
            attempt_timeout_s=policy.attempt_timeout_s,
            deadline_s=policy.retry_deadline_s,
            monotonic=monotonic,
            sleep=sleep,
        )
        self.breaker = CircuitBreakerConnector(
            self.retry,
            failure_threshold=policy.failure_threshold,
            cooldown_s=policy.cooldown_s,
            clock=clock,
            name=name,
        )
        self.cache = CachingConnector(
            self.breaker,
            ttl_s=policy.ttl_s,
            degraded_ttl_s=policy.degraded_ttl_s,
            max_stale_s=policy.max_stale_s,
            max_entries=policy.max_entries,
            refresh_workers=policy.refresh_workers,
            clock=clock,
            on_refresh=on_refresh,
        )

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        """The shopper's snapshot under the policy; never raises, never waits past a deadline."""
        return self.cache.fetch_customer(customer_id)

    def search_customers(self, query: str, limit: int) -> CustomerSearch:
        """A search through the breaker and the retry (not the cache); never raises."""
        return self.cache.search_customers(query, limit)

    def invalidate(self, customer_id: str) -> None:
        """Make the next request for `customer_id` go to the store."""
        self.cache.invalidate(customer_id)

    def erase(self, customer_id: str) -> None:
        """Forget `customer_id` in every cache of the stack (privacy erasure)."""
        self.cache.erase(customer_id)

    def breaker_status(self) -> BreakerStatus:
        """The circuit breaker's state."""
        return self.breaker.status()

    def cache_stats(self) -> CacheStats:
        """The cache's counters."""
        return self.cache.stats()

    def health(self) -> dict[str, Any]:
        """Breaker state and cache counters, JSON-ready, for an operator's health page."""
        return {
            "breaker": self.breaker.status().to_dict(),
            "cache": asdict(self.cache.stats()),
            "retries": self.retry.retries,
        }

    def close(self) -> None:
        """Stop background refreshes and close the store connector if it can be closed."""
        self.cache.close()
        close = getattr(self.store, "close", None)
        if callable(close):
            close()
