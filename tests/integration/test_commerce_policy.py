"""The fetching policy around the reference connector, against the real reference store.

The store counts the requests it receives, so these tests assert the load the hub puts on an
online store (one fetch per customer per TTL) from the store's side, not the client's.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from store_hub.adapters.commerce import CustomerSnapshot, ReferenceStoreConnector
from store_hub.adapters.commerce.policy import FetchPolicy, PolicyConnector
from store_hub.demo.catalog import CUSTOMER_COUNT
from store_hub.demo.online_store import Fault, RunningStore, serve_in_thread
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = "test-commerce-key"
TTL_S = 300.0
SHOPPERS = 500  # more than the store knows: the last 100 have no online account (404)
PROFILE = r"^/commerce/v1/customers/[^/]+$"


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self._now = ANCHOR
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def store() -> Iterator[RunningStore]:
    running = serve_in_thread(free_port(), api_key=KEY, anchor=ANCHOR)
    try:
        yield running
    finally:
        running.shutdown()


@pytest.fixture
def clean_store(store: RunningStore) -> Iterator[RunningStore]:
    store.faults.clear()
    store.requests.reset()
    yield store
    store.faults.clear()


def policy_connector(
    store: RunningStore, clock: FakeClock, policy: FetchPolicy | None = None, timeout_s: float = 5.0
) -> PolicyConnector:
    reference = ReferenceStoreConnector(
        store.url, KEY, timeout_s=timeout_s, max_workers=64, clock=clock
    )
    return PolicyConnector(reference, policy or FetchPolicy(ttl_s=TTL_S), clock=clock)


def test_a_500_shopper_burst_costs_one_store_fetch_per_customer_per_ttl(
    clean_store: RunningStore,
) -> None:
    clock = FakeClock()
    connector = policy_connector(clean_store, clock)
    shoppers = [f"c{n:04d}" for n in range(1, SHOPPERS + 1)]
    arrivals = shoppers * 2  # everyone arrives twice within the TTL, in a shuffled burst
    random.Random(5).shuffle(arrivals)

    with ThreadPoolExecutor(64) as burst:
        snapshots = list(burst.map(connector.fetch_customer, arrivals))

    per_path = clean_store.requests.by_path()
    profile_calls = {path: n for path, n in per_path.items() if path.count("/") == 4}
    assert profile_calls == {f"/commerce/v1/customers/{c}": 1 for c in shoppers}
    assert clean_store.requests.count() == 4 * SHOPPERS  # profile, wishlist, carts, orders
    by_customer: dict[str, set[str]] = {}
    for snapshot in snapshots:
        by_customer.setdefault(snapshot.customer_id, set()).add(snapshot.status)
    known = {f"c{n:04d}" for n in range(1, CUSTOMER_COUNT + 1)}
    assert {c: s for c, s in by_customer.items() if c in known} == {c: {"ok"} for c in known}
    assert all(by_customer[c] == {"unavailable"} for c in set(shoppers) - known)
    stats = connector.cache_stats()
    assert stats.misses == SHOPPERS
    assert stats.hits + stats.coalesced == SHOPPERS

    # Past the TTL a third arrival is answered from the cache at once, and refreshes it once.
    clean_store.requests.reset()
    clock.advance(TTL_S + 1)
    regulars = shoppers[:50]
    with ThreadPoolExecutor(32) as burst:
        third = list(burst.map(connector.fetch_customer, regulars * 3))
    assert connector.cache.wait_for_refreshes(10)
    assert {s.stale_reason for s in third} <= {"refreshing", None}
    assert any(s.stale_reason == "refreshing" for s in third)
    assert clean_store.requests.count(PROFILE) == len(regulars)
    assert all(clean_store.requests.count(f"^/commerce/v1/customers/{c}$") == 1 for c in regulars)
    connector.close()


def test_store_down_mid_visit_shows_cached_data_and_says_so_then_recovers(
    clean_store: RunningStore,
) -> None:
    clock = FakeClock()
    policy = FetchPolicy(ttl_s=TTL_S, failure_threshold=3, cooldown_s=30)
    connector = policy_connector(clean_store, clock, policy, timeout_s=0.5)
    first = connector.fetch_customer("c0001")
    assert first.status == "ok" and not first.stale

    clean_store.faults.add(Fault(status=503))
    clock.advance(TTL_S + 1)
    at_once = connector.fetch_customer("c0001")  # stale: answered now, refreshed behind
    assert connector.cache.wait_for_refreshes(5)
    after_failed_refresh = connector.fetch_customer("c0001")

    assert at_once.stale_reason == "refreshing"
    assert after_failed_refresh.stale_reason == "store_unavailable"
    assert after_failed_refresh.profile == first.profile
    card = after_failed_refresh.to_card_dict()
    assert card["profile_status"] == "ok"
    assert card["profile_cached_at"] == "2026-11-24T09:00:00.000Z"
    assert card["profile_cache_reason"] == "store_unavailable"
    assert {p.kind for p in after_failed_refresh.refresh_problems} == {"http_error"}

    # Three failing fetches open the breaker; then the store is not called at all.
    for customer in ("c0002", "c0003"):
        assert connector.fetch_customer(customer).status == "unavailable"
    assert connector.breaker_status().state == "open"
    calls_when_opened = clean_store.requests.count()
    fast = connector.fetch_customer("c0004")
    assert {p.kind for p in fast.problems} == {"circuit_open"}
    assert connector.fetch_customer("c0001").stale_reason == "store_unavailable"
    assert connector.cache.wait_for_refreshes(5)
    assert clean_store.requests.count() == calls_when_opened

    # The store comes back; after the cool-down one trial closes the breaker.
    clean_store.faults.clear()
    clock.advance(31)
    healed = connector.fetch_customer("c0004")
    assert healed.status == "ok" and not healed.stale
    assert connector.breaker_status().state == "closed"
    connector.fetch_customer("c0001")
    assert connector.cache.wait_for_refreshes(5)
    assert connector.fetch_customer("c0001").stale_reason is None
    assert connector.health()["breaker"]["state"] == "closed"
    connector.close()


def test_erasure_reaches_the_cache(clean_store: RunningStore) -> None:
    clock = FakeClock()
    connector = policy_connector(clean_store, clock)
    connector.fetch_customer("c0007")
    connector.fetch_customer("c0007")
    assert clean_store.requests.count(PROFILE) == 1

    connector.erase("c0007")
    again: CustomerSnapshot = connector.fetch_customer("c0007")

    assert again.status == "ok"
    assert clean_store.requests.count(PROFILE) == 2
    assert connector.cache_stats().entries == 1
    connector.close()
