"""The circuit breaker, the connect-error retry, and the assembled policy stack."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from store_hub.adapters.commerce import CustomerSnapshot, Problem
from store_hub.adapters.commerce.breaker import CircuitBreakerConnector
from store_hub.adapters.commerce.policy import FetchPolicy, PolicyConnector
from store_hub.adapters.commerce.retry import RetryingConnector

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0
        self.mono = 0.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


class Store:
    """Answers with the kinds of problem it is told to, in order; then the last one."""

    def __init__(self, clock: FakeClock, *answers: str) -> None:
        self.clock = clock
        self.answers = list(answers) or ["ok"]
        self.calls = 0
        self.took_s = 0.0
        self.gate: threading.Event | None = None

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        kind = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if self.gate is not None:
            assert self.gate.wait(5)
        self.clock.advance(self.took_s)
        if kind == "ok":
            return CustomerSnapshot(customer_id=customer_id, status="ok", fetched_at=self.clock())
        status = "partial" if kind.startswith("partial-") else "unavailable"
        return CustomerSnapshot(
            customer_id=customer_id,
            status=status,  # type: ignore[arg-type]
            fetched_at=self.clock(),
            problems=(Problem("orders", kind.removeprefix("partial-"), "scripted"),),  # type: ignore[arg-type]
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def breaker(store: Store, clock: FakeClock) -> CircuitBreakerConnector:
    return CircuitBreakerConnector(store, failure_threshold=3, cooldown_s=30, clock=clock)


@pytest.mark.parametrize("kind", ["timeout", "unreachable", "http_error", "throttled"])
def test_opens_after_n_consecutive_failures_and_fails_fast(clock: FakeClock, kind: str) -> None:
    store = Store(clock, kind)
    guard = breaker(store, clock)

    for _ in range(3):
        guard.fetch_customer("c1")
    fast = guard.fetch_customer("c1")

    assert store.calls == 3
    assert guard.status().state == "open"
    assert fast.status == "unavailable"
    assert {p.kind for p in fast.problems} == {"circuit_open"}
    assert guard.status().to_dict()["retry_at"] == "2026-11-24T09:00:30.000Z"


@pytest.mark.parametrize("answer", ["not_found", "unauthorized", "partial-timeout", "ok"])
def test_answers_that_are_not_the_store_failing_reset_the_count(
    clock: FakeClock, answer: str
) -> None:
    store = Store(clock, "timeout", "timeout", answer, "timeout", "timeout")
    guard = breaker(store, clock)

    for _ in range(5):
        guard.fetch_customer("c1")

    assert guard.status().state == "closed"
    assert guard.status().consecutive_failures == 2


def test_half_open_lets_one_trial_through_and_success_closes(clock: FakeClock) -> None:
    store = Store(clock, "timeout", "timeout", "timeout", "ok")
    guard = breaker(store, clock)
    for _ in range(3):
        guard.fetch_customer("c1")
    clock.advance(30)
    store.gate = threading.Event()
    trial = threading.Thread(target=guard.fetch_customer, args=("c1",))
    trial.start()
    while store.calls < 4:
        pass

    during_trial = guard.fetch_customer("c2")  # fails fast while the trial is out
    store.gate.set()
    trial.join(5)

    assert {p.kind for p in during_trial.problems} == {"circuit_open"}
    assert store.calls == 4
    assert guard.status().state == "closed"
    assert guard.fetch_customer("c3").status == "ok"


def test_a_failed_trial_opens_it_again(clock: FakeClock) -> None:
    store = Store(clock, "timeout")
    guard = breaker(store, clock)
    for _ in range(3):
        guard.fetch_customer("c1")
    clock.advance(30)

    guard.fetch_customer("c1")
    clock.advance(29)
    guard.fetch_customer("c1")

    assert store.calls == 4
    assert guard.status().state == "open"
    assert guard.status().opened_at == T0 + timedelta(seconds=30)


def test_retry_once_on_unreachable_within_the_deadline(clock: FakeClock) -> None:
    store = Store(clock, "unreachable", "ok")
    retry = RetryingConnector(
        store, attempt_timeout_s=1, deadline_s=1.5, monotonic=clock.monotonic, sleep=clock.advance
    )

    assert retry.fetch_customer("c1").status == "ok"
    assert store.calls == 2


@pytest.mark.parametrize(
    ("answers", "took_s", "calls"),
    [
        (("timeout", "ok"), 0.0, 1),  # a timeout is never retried
        (("unreachable", "unreachable"), 0.0, 2),  # at most once
        (("unreachable", "ok"), 0.6, 1),  # a retry would end past the deadline
    ],
)
def test_retry_only_where_safe(
    clock: FakeClock, answers: tuple[str, ...], took_s: float, calls: int
) -> None:
    store = Store(clock, *answers)
    store.took_s = took_s
    retry = RetryingConnector(
        store, attempt_timeout_s=1, deadline_s=1.5, monotonic=clock.monotonic, sleep=clock.advance
    )

    retry.fetch_customer("c1")

    assert store.calls == calls


def test_the_policy_stack_caches_over_an_open_breaker(clock: FakeClock) -> None:
    store = Store(clock, "ok", "timeout")
    policy = FetchPolicy(ttl_s=60, failure_threshold=2, cooldown_s=120)
    stack = PolicyConnector(
        store, policy, clock=clock, monotonic=clock.monotonic, sleep=clock.advance
    )
    stack.fetch_customer("c1")
    stack.fetch_customer("c2")
    stack.fetch_customer("c3")
    assert stack.breaker_status().state == "open"
    clock.advance(61)

    cached = stack.fetch_customer("c1")
    assert stack.cache.wait_for_refreshes(5)
    again = stack.fetch_customer("c1")

    assert cached.stale_reason == "refreshing"
    assert again.stale_reason == "store_unavailable"
    assert {p.kind for p in again.refresh_problems} == {"circuit_open"}
    assert store.calls == 3
    health = stack.health()
    assert health["breaker"]["state"] == "open" and health["cache"]["entries"] == 3
    stack.close()
