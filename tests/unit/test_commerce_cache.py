"""The per-customer cache: TTL, stale-while-revalidate, single flight, LRU bound, erasure."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from store_hub.adapters.commerce import CustomerSnapshot, Problem, Profile
from store_hub.adapters.commerce.cache import CachingConnector

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Store:
    """A connector whose answers tests script; it counts calls and can hold them."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: Counter[str] = Counter()
        self.status = "ok"
        self.kind = "timeout"
        self.gate: threading.Event | None = None
        self.lock = threading.Lock()

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        with self.lock:
            self.calls[customer_id] += 1
        if self.gate is not None:
            assert self.gate.wait(5)
        if self.status == "ok":
            profile = Profile(
                customer_id, "A", str(self.calls[customer_id]), None, None, Decimal(0), "GBP"
            )
            return CustomerSnapshot(
                customer_id=customer_id, status="ok", fetched_at=self.clock(), profile=profile
            )
        return CustomerSnapshot(
            customer_id=customer_id,
            status="unavailable",
            fetched_at=self.clock(),
            problems=(Problem("profile", self.kind, "scripted"),),  # type: ignore[arg-type]
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Store:
    return Store(clock)


def cache_of(store: Store, clock: FakeClock, max_entries: int = 100) -> CachingConnector:
    return CachingConnector(
        store, ttl_s=60, degraded_ttl_s=10, max_stale_s=600, max_entries=max_entries, clock=clock
    )


def test_fresh_entries_do_not_call_the_store(store: Store, clock: FakeClock) -> None:
    cache = cache_of(store, clock)
    first = cache.fetch_customer("c1")
    clock.advance(59)
    second = cache.fetch_customer("c1")

    assert second is first and not second.stale
    assert store.calls["c1"] == 1


def test_stale_is_served_at_once_and_refreshed_once(store: Store, clock: FakeClock) -> None:
    refreshed: list[CustomerSnapshot] = []
    cache = cache_of(store, clock)
    cache.on_refresh = refreshed.append
    cache.fetch_customer("c1")
    clock.advance(61)
    store.gate = threading.Event()  # the refresh hangs until released

    stale = [cache.fetch_customer("c1") for _ in range(5)]
    store.gate.set()
    assert cache.wait_for_refreshes(5)
    fresh = cache.fetch_customer("c1")

    assert all(s.stale_reason == "refreshing" and s.fetched_at == T0 for s in stale)
    assert stale[0].to_card_dict()["profile_cached_at"] == "2026-11-24T09:00:00.000Z"
    assert store.calls["c1"] == 2
    assert fresh.stale_reason is None and fresh.profile is not None
    assert fresh.profile.last_name == "2"
    assert [r.profile.last_name for r in refreshed if r.profile] == ["2"]


def test_a_failed_refresh_keeps_the_good_entry_and_says_so(store: Store, clock: FakeClock) -> None:
    refreshed: list[CustomerSnapshot] = []
    cache = cache_of(store, clock)
    cache.on_refresh = refreshed.append
    good = cache.fetch_customer("c1")
    clock.advance(61)
    store.status = "unavailable"

    cache.fetch_customer("c1")
    assert cache.wait_for_refreshes(5)
    served = cache.fetch_customer("c1")

    assert served.stale_reason == "store_unavailable"
    assert served.profile == good.profile and served.status == "ok"
    assert [p.kind for p in served.refresh_problems] == ["timeout"]
    assert refreshed[0].stale_reason == "store_unavailable"
    assert "profile_cached_at" not in good.to_card_dict()


def test_the_stores_word_that_a_customer_is_gone_replaces_the_entry(
    store: Store, clock: FakeClock
) -> None:
    cache = cache_of(store, clock)
    cache.fetch_customer("c1")
    clock.advance(61)
    store.status, store.kind = "unavailable", "not_found"

    cache.fetch_customer("c1")
    assert cache.wait_for_refreshes(5)

    assert cache.fetch_customer("c1").status == "unavailable"


def test_concurrent_misses_share_one_fetch(store: Store, clock: FakeClock) -> None:
    cache = cache_of(store, clock)
    store.gate = threading.Event()
    results: list[CustomerSnapshot] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.fetch_customer("c1")))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    store.gate.set()
    for thread in threads:
        thread.join(5)

    assert store.calls["c1"] == 1
    assert len(results) == 20 and len({id(r) for r in results}) == 1
    assert cache.stats().coalesced == 19


def test_degraded_results_live_shorter(store: Store, clock: FakeClock) -> None:
    cache = cache_of(store, clock)
    store.status = "unavailable"
    cache.fetch_customer("c1")
    clock.advance(9)
    cache.fetch_customer("c1")
    assert store.calls["c1"] == 1
    clock.advance(2)
    store.status = "ok"

    assert cache.fetch_customer("c1").status == "ok"  # unavailable is never served stale
    assert store.calls["c1"] == 2


def test_circuit_open_answers_are_not_remembered(store: Store, clock: FakeClock) -> None:
    cache = cache_of(store, clock)
    store.status, store.kind = "unavailable", "circuit_open"
    cache.fetch_customer("c1")
    store.status = "ok"

    assert cache.fetch_customer("c1").status == "ok"
    assert store.calls["c1"] == 2


def test_too_old_to_show_is_fetched_in_line(store: Store, clock: FakeClock) -> None:
    cache = cache_of(store, clock)
    cache.fetch_customer("c1")
    clock.advance(601)
    store.status = "unavailable"

    served = cache.fetch_customer("c1")

    assert served.status == "unavailable" and not served.stale


def test_the_cache_is_bounded_least_recently_used_first(store: Store, clock: FakeClock) -> None:
    cache = cache_of(store, clock, max_entries=2)
    cache.fetch_customer("c1")
    cache.fetch_customer("c2")
    cache.fetch_customer("c1")  # c1 is now the most recent
    cache.fetch_customer("c3")  # evicts c2

    cache.fetch_customer("c1")
    cache.fetch_customer("c2")

    assert cache.stats().entries == 2
    assert store.calls == Counter({"c1": 1, "c2": 2, "c3": 1})


def test_erase_forgets_and_stops_an_in_flight_fetch_from_storing(
    store: Store, clock: FakeClock
) -> None:
    cache = cache_of(store, clock)
    cache.fetch_customer("c1")
    cache.erase("c1")
    assert cache.stats().entries == 0

    store.gate = threading.Event()
    fetching = threading.Thread(target=cache.fetch_customer, args=("c2",))
    fetching.start()
    while store.calls["c2"] == 0:
        pass
    cache.erase("c2")
    store.gate.set()
    fetching.join(5)

    assert cache.stats().entries == 0
    cache.fetch_customer("c2")
    assert store.calls["c2"] == 2


def test_erase_reaches_inner_caches(store: Store, clock: FakeClock) -> None:
    inner = cache_of(store, clock)
    outer = CachingConnector(inner, ttl_s=60, clock=clock)
    outer.fetch_customer("c1")

    outer.erase("c1")

    assert inner.stats().entries == 0 and outer.stats().entries == 0


def test_invalidate_makes_the_next_request_fetch(store: Store, clock: FakeClock) -> None:
    cache = cache_of(store, clock)
    cache.fetch_customer("c1")
    cache.invalidate("c1")
    cache.fetch_customer("c1")

    assert store.calls["c1"] == 2


def test_a_connector_that_raises_becomes_unavailable(clock: FakeClock) -> None:
    class Broken:
        def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
            raise RuntimeError("bug")

    snapshot = CachingConnector(Broken(), clock=clock).fetch_customer("c1")

    assert snapshot.status == "unavailable"
    assert {p.kind for p in snapshot.problems} == {"malformed"}
