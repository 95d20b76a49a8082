"""The reference connector against the real reference online store, over HTTP on loopback."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from store_hub.adapters.commerce import CustomerSnapshot, ReferenceStoreConnector
from store_hub.demo.catalog import DEMO_CUSTOMERS, Catalog
from store_hub.demo.online_store import Fault, Faults, RunningStore, serve_in_thread
from store_hub.operations.offer_decisions import interest_items
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = "test-commerce-key"
TIMEOUT_S = 0.5
# Generous for a loaded CI machine, yet far below the 4 x timeout a serial connector would take.
MARGIN_S = 0.4
CONNECTOR_LOG = "store_hub.adapters.commerce.reference"


@pytest.fixture(scope="module")
def store() -> Iterator[RunningStore]:
    running = serve_in_thread(free_port(), api_key=KEY, anchor=ANCHOR)
    try:
        yield running
    finally:
        running.shutdown()


@pytest.fixture
def faults(store: RunningStore) -> Iterator[Faults]:
    store.faults.clear()
    yield store.faults
    store.faults.clear()


@pytest.fixture
def connector(store: RunningStore, faults: Faults) -> Iterator[ReferenceStoreConnector]:
    client = ReferenceStoreConnector(store.url, KEY, timeout_s=TIMEOUT_S)
    yield client
    client.close()


def timed(connector: ReferenceStoreConnector, customer_id: str) -> tuple[CustomerSnapshot, float]:
    start = time.monotonic()
    snapshot = connector.fetch_customer(customer_id)
    return snapshot, time.monotonic() - start


def problems(snapshot: CustomerSnapshot) -> set[tuple[str, str]]:
    return {(p.part, p.kind) for p in snapshot.problems}


def expected_card(catalog: Catalog, base_url: str, customer_id: str) -> dict[str, Any]:
    """The card for `customer_id` computed from the catalog itself, not through the API."""
    customer = catalog.customers[customer_id]

    def image(sku: str) -> str | None:
        path = catalog.variants[sku].image_path
        return f"{base_url}/commerce/v1/{path}" if path else None

    def variant(sku: str) -> dict[str, Any]:
        v = catalog.variants[sku]
        return {"sku": sku, "name": v.name, "size": v.size, "colour": v.colour}

    abandoned = [c for c in catalog.carts[customer_id] if c.status == "abandoned"]
    cart = max(abandoned, key=lambda c: c.updated_at) if abandoned else None
    orders = sorted(catalog.orders[customer_id], key=lambda o: o.placed_at, reverse=True)
    return {
        "profile_status": "ok",
        "profile": {
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "loyalty_tier": customer.loyalty_tier,
            "lifetime_value": str(customer.lifetime_value),
            "currency": "GBP",
            "sizes": dict(customer.sizes),
            "preferences": {
                "categories": list(customer.favourite_categories),
                "colours": list(customer.favourite_colours),
            },
            "marketing_consents": dict(customer.consents),
        },
        "wishlist": [
            {
                **variant(e.sku),
                "price": str(catalog.variants[e.sku].price),
                "currency": "GBP",
                "image_url": image(e.sku),
            }
            for e in catalog.wishlists[customer_id]
        ],
        "cart": None
        if cart is None
        else {
            "items": [
                {
                    **variant(line.sku),
                    "quantity": line.quantity,
                    "unit_price": str(line.unit_price),
                    "currency": "GBP",
                    "image_url": image(line.sku),
                }
                for line in cart.lines
            ],
            "total": str(cart.total),
            "currency": "GBP",
            "updated_at": cart.updated_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        },
        "orders": [
            {
                "order_id": o.order_id,
                "placed_at": o.placed_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "total": str(o.total),
                "currency": "GBP",
            }
            for o in orders[:10]
        ],
    }


def test_c0001_becomes_the_exact_card_the_tablet_renders(
    store: RunningStore, connector: ReferenceStoreConnector
) -> None:
    snapshot, elapsed = timed(connector, "c0001")

    card = snapshot.to_card_dict()
    assert snapshot.status == "ok"
    assert snapshot.problems == ()
    assert card == expected_card(store.catalog, store.url, "c0001")
    assert card["wishlist"] and card["cart"]["items"], "the end-to-end demo relies on both"
    # The arrival offer is decided from this very card.
    interest = interest_items(card)
    assert [i.source for i in interest].count("cart") == len(card["cart"]["items"])
    assert all(i.price.amount > 0 and i.price.currency == "GBP" for i in interest)
    assert Decimal(card["cart"]["total"]) == sum(
        Decimal(i["unit_price"]) * i["quantity"] for i in card["cart"]["items"]
    )
    assert json.loads(json.dumps(card)) == card  # travels over Socket.IO and into the database
    assert elapsed < TIMEOUT_S


def test_orders_are_most_recent_first_and_capped_at_ten(
    store: RunningStore, connector: ReferenceStoreConnector
) -> None:
    loyal = max(store.catalog.orders, key=lambda c: len(store.catalog.orders[c]))
    assert len(store.catalog.orders[loyal]) > 10

    orders = connector.fetch_customer(loyal).to_card_dict()["orders"]

    assert len(orders) == 10
    placed = [o["placed_at"] for o in orders]
    assert placed == sorted(placed, reverse=True)


def test_every_demo_shopper_has_a_full_profile(connector: ReferenceStoreConnector) -> None:
    snapshots = [connector.fetch_customer(c) for c in DEMO_CUSTOMERS]

    assert [s.status for s in snapshots] == ["ok"] * len(DEMO_CUSTOMERS)
    assert all(s.profile is not None and s.wishlist for s in snapshots)
    assert sum(s.cart is not None for s in snapshots) >= 9


def test_unknown_customer_is_unavailable(connector: ReferenceStoreConnector) -> None:
    snapshot, elapsed = timed(connector, "c9999")

    assert snapshot.status == "unavailable"
    assert ("profile", "not_found") in problems(snapshot)
    card = snapshot.to_card_dict()
    assert card == {
        "profile_status": "unavailable",
        "profile": None,
        "wishlist": [],
        "cart": None,
        "orders": [],
    }
    assert elapsed < TIMEOUT_S


def test_a_customer_id_cannot_escape_its_path(connector: ReferenceStoreConnector) -> None:
    snapshot = connector.fetch_customer("../products/KN-0001")

    assert snapshot.status == "unavailable"


def test_wrong_api_key_is_unavailable_and_says_so(store: RunningStore, faults: Faults) -> None:
    wrong = ReferenceStoreConnector(store.url, "not-the-key", timeout_s=TIMEOUT_S)

    snapshot = wrong.fetch_customer("c0001")

    assert snapshot.status == "unavailable"
    assert problems(snapshot) == {
        (part, "unauthorized") for part in ("profile", "wishlist", "cart", "orders")
    }
    wrong.close()


def test_slow_store_costs_one_timeout_not_four(
    connector: ReferenceStoreConnector, faults: Faults
) -> None:
    faults.add(Fault(latency_s=5))

    snapshot, elapsed = timed(connector, "c0001")

    assert elapsed < TIMEOUT_S + MARGIN_S
    assert snapshot.status == "unavailable"
    assert problems(snapshot) == {
        (part, "timeout") for part in ("profile", "wishlist", "cart", "orders")
    }


def test_calls_run_concurrently(store: RunningStore, faults: Faults) -> None:
    faults.add(Fault(latency_s=0.3))
    patient = ReferenceStoreConnector(store.url, KEY, timeout_s=2.0)

    snapshot, elapsed = timed(patient, "c0001")

    assert snapshot.status == "ok"
    # Four calls of 0.3 s each take 1.2 s in a row; together about 0.3 s.
    assert elapsed < 0.8
    patient.close()


def test_one_slow_endpoint_leaves_the_rest_of_the_card(
    connector: ReferenceStoreConnector, faults: Faults
) -> None:
    faults.add(Fault(path=r"/orders$", latency_s=5))

    snapshot, elapsed = timed(connector, "c0001")

    assert elapsed < TIMEOUT_S + MARGIN_S
    assert snapshot.status == "partial"
    assert problems(snapshot) == {("orders", "timeout")}
    assert snapshot.profile is not None and snapshot.wishlist and snapshot.cart is not None
    assert snapshot.to_card_dict()["orders"] == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_everywhere_are_unavailable(
    connector: ReferenceStoreConnector, faults: Faults, status: int
) -> None:
    faults.add(Fault(status=status))

    snapshot = connector.fetch_customer("c0001")

    assert snapshot.status == "unavailable"
    assert problems(snapshot) == {
        (part, "http_error") for part in ("profile", "wishlist", "cart", "orders")
    }
    assert all(p.detail == f"HTTP {status}" for p in snapshot.problems)


def test_one_failing_endpoint_makes_the_snapshot_partial(
    connector: ReferenceStoreConnector, faults: Faults
) -> None:
    faults.add(Fault(path=r"/wishlist$", status=503))

    snapshot = connector.fetch_customer("c0001")

    assert snapshot.status == "partial"
    assert problems(snapshot) == {("wishlist", "http_error")}
    card = snapshot.to_card_dict()
    assert card["profile_status"] == "partial"
    assert card["wishlist"] == []
    assert card["profile"] is not None and card["cart"]["items"] and card["orders"]


def test_truncated_json_is_detected(connector: ReferenceStoreConnector, faults: Faults) -> None:
    faults.add(Fault(path=r"/carts$", body="truncated"))

    snapshot = connector.fetch_customer("c0001")

    assert snapshot.status == "partial"
    assert problems(snapshot) == {("cart", "malformed")}
    assert snapshot.cart is None


def test_a_profile_that_fails_alone_still_shows_the_rest(
    connector: ReferenceStoreConnector, faults: Faults
) -> None:
    faults.add(Fault(path=r"/customers/c0001$", body="truncated"))

    snapshot = connector.fetch_customer("c0001")

    assert snapshot.status == "partial"
    assert problems(snapshot) == {("profile", "malformed")}
    assert snapshot.profile is None and snapshot.wishlist


def test_a_body_of_the_wrong_shape_is_rejected_whole(
    connector: ReferenceStoreConnector, faults: Faults
) -> None:
    # Valid JSON, but every amount a float: no item of the page may slip through.
    faults.add(Fault(path=r"/wishlist$", body="wrong_types"))

    snapshot = connector.fetch_customer("c0001")

    assert snapshot.status == "partial"
    assert problems(snapshot) == {("wishlist", "malformed")}
    assert snapshot.wishlist == ()
    assert "decimal string" in snapshot.problems[0].detail


def test_store_that_is_down_is_unavailable_at_once(faults: Faults) -> None:
    nowhere = ReferenceStoreConnector(f"http://127.0.0.1:{free_port()}", KEY, timeout_s=TIMEOUT_S)

    snapshot, elapsed = timed(nowhere, "c0001")

    assert snapshot.status == "unavailable"
    assert problems(snapshot) == {
        (part, "unreachable") for part in ("profile", "wishlist", "cart", "orders")
    }
    assert elapsed < TIMEOUT_S
    nowhere.close()


def test_a_degraded_fetch_is_logged_once_and_a_good_one_not_at_all(
    connector: ReferenceStoreConnector, faults: Faults, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=CONNECTOR_LOG)

    connector.fetch_customer("c0001")
    faults.add(Fault(status=503))
    connector.fetch_customer("c0001")

    records = [r for r in caplog.records if r.name == CONNECTOR_LOG]
    assert len(records) == 1
    assert "unavailable" in records[0].getMessage() and "c0001" in records[0].getMessage()


def test_faults_can_be_set_over_http_for_a_store_in_another_process(
    store: RunningStore, connector: ReferenceStoreConnector, faults: Faults
) -> None:
    admin = f"{store.url}/_admin/faults"
    auth = {"Authorization": f"Bearer {KEY}"}
    put = requests.put(
        admin, json={"faults": [{"path": "/orders$", "status": 502}]}, headers=auth, timeout=5
    )
    assert put.status_code == 200, put.text
    broken = connector.fetch_customer("c0001")

    cleared = requests.delete(admin, headers=auth, timeout=5)
    healed = connector.fetch_customer("c0001")

    assert problems(broken) == {("orders", "http_error")}
    assert cleared.json() == {"faults": []}
    assert healed.status == "ok"
    bad = requests.put(admin, json={"faults": [{"status": 200}]}, headers=auth, timeout=5)
    assert bad.status_code == 422
    assert requests.delete(admin, timeout=5).status_code == 401
