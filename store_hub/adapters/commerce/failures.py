"""What counts as the online store failing, and the snapshot the policy answers instead.

Shared by the fetching-policy decorators (cache, circuit breaker, retry), which differ only in
which of these facts they act on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from store_hub.adapters.commerce.snapshot import (
    PARTS,
    CommerceConnector,
    CustomerSearch,
    CustomerSnapshot,
    Problem,
    ProblemKind,
    search_failed,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# The store is struggling (worth a breaker's attention and never worth caching over good data).
TRANSIENT: frozenset[ProblemKind] = frozenset({"timeout", "unreachable", "http_error", "throttled"})
# Anything but the store's own word that the customer does not exist: a result degraded by one
# of these says nothing new about the customer, so it must not replace what the cache holds.
NOT_THE_CUSTOMERS_FAULT: frozenset[ProblemKind] = frozenset(
    {*TRANSIENT, "malformed", "unauthorized", "circuit_open"}
)
_RANK = {"unavailable": 0, "partial": 1, "ok": 2}


def system_clock() -> datetime:
    """Wall-clock time, timezone-aware UTC."""
    return datetime.now(UTC)


def rank(snapshot: CustomerSnapshot) -> int:
    """How complete a snapshot is: ok > partial > unavailable."""
    return _RANK[snapshot.status]


def is_store_failure(snapshot: CustomerSnapshot) -> bool:
    """True when nothing usable came back because the store timed out, refused or erred."""
    return snapshot.status == "unavailable" and any(p.kind in TRANSIENT for p in snapshot.problems)


def degraded_by_failure(snapshot: CustomerSnapshot) -> bool:
    """True when some part is missing for a reason other than 'no such customer'."""
    return any(p.kind in NOT_THE_CUSTOMERS_FAULT for p in snapshot.problems)


def unavailable(
    customer_id: str, fetched_at: datetime, kind: ProblemKind, detail: str
) -> CustomerSnapshot:
    """A snapshot with nothing in it, every part failing for the same reason."""
    return CustomerSnapshot(
        customer_id=customer_id,
        status="unavailable",
        fetched_at=fetched_at,
        problems=tuple(Problem(part, kind, detail) for part in PARTS),
    )


def log_if_degraded(logger: logging.Logger, store: str, snapshot: CustomerSnapshot) -> None:
    """One warning line, on the connector's logger, for a fetch that came back with problems."""
    if snapshot.problems:
        logger.warning(
            "%s answered %s for customer %s: %s",
            store,
            snapshot.status,
            snapshot.customer_id,
            "; ".join(f"{p.part} {p.kind} ({p.detail})" for p in snapshot.problems),
        )


def guarded_fetch(inner: CommerceConnector, customer_id: str, clock: Clock) -> CustomerSnapshot:
    """`inner.fetch_customer`, with a bug in it turned into an unavailable snapshot."""
    try:
        return inner.fetch_customer(customer_id)
    except Exception as error:  # connectors must not raise; if one does, the arrival goes on
        log.exception("commerce connector raised for customer %s", customer_id)
        return unavailable(customer_id, clock(), "malformed", f"{type(error).__name__}: {error}")


def search_is_store_failure(search: CustomerSearch) -> bool:
    """True when a search has no answer because the store timed out, refused or erred."""
    problem = search.problem
    return search.status == "unavailable" and problem is not None and problem.kind in TRANSIENT


def guarded_search(inner: CommerceConnector, query: str, limit: int) -> CustomerSearch:
    """`inner.search_customers`, with a bug in it turned into an unavailable answer."""
    try:
        return inner.search_customers(query, limit)
    except Exception as error:  # a connector's bug must not break the associate's search
        log.exception("commerce connector raised while searching customers")
        return search_failed(query, "malformed", f"{type(error).__name__}: {error}")


@runtime_checkable
class Erasable(Protocol):
    """A connector that keeps something per customer and can forget it."""

    def erase(self, customer_id: str) -> None:
        """Forget everything held about `customer_id`."""
        ...


def erase_from(connector: object, customer_id: str) -> None:
    """Pass an erasure down to `connector` if it holds anything per customer."""
    if isinstance(connector, Erasable):
        connector.erase(customer_id)
