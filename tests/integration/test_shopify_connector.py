"""The Shopify connector against a local server that answers as Shopify's Admin GraphQL API."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from store_hub.adapters.commerce import CustomerSnapshot
from store_hub.adapters.commerce.shopify import ShopifyConnector, ShopifySettings
from tests.fixtures.fake_shopify import API_VERSION, TOKEN, FakeShopify, ShopifyFault
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration

AMELIA = "1001"
TIMEOUT_S = 0.5  # the deadline the tests of slow and throttled shops hold the connector to
MARGIN_S = 0.4
# Everyone else's: a local fake answers in milliseconds, but on a loaded CI machine a 0.5 s
# deadline for a whole fetch timed out now and then (a partial card, a failed test).
PATIENT_S = 5.0


def connector_for(shop: FakeShopify, **overrides: Any) -> ShopifyConnector:
    settings: dict[str, Any] = {
        "shop": shop.url,
        "access_token": TOKEN,
        "api_version": API_VERSION,
        "timeout_s": TIMEOUT_S,
        **overrides,
    }
    return ShopifyConnector(ShopifySettings(**settings))


@pytest.fixture
def connector(fake_shopify: FakeShopify) -> Iterator[ShopifyConnector]:
    client = connector_for(fake_shopify, timeout_s=PATIENT_S)
    yield client
    client.close()


@pytest.fixture
def hurried(fake_shopify: FakeShopify) -> Iterator[ShopifyConnector]:
    client = connector_for(fake_shopify)
    yield client
    client.close()


def problems(snapshot: CustomerSnapshot) -> set[tuple[str, str]]:
    return {(p.part, p.kind) for p in snapshot.problems}


def timed(connector: ShopifyConnector, customer_id: str) -> tuple[CustomerSnapshot, float]:
    start = time.monotonic()
    snapshot = connector.fetch_customer(customer_id)
    return snapshot, time.monotonic() - start


def test_a_shopify_customer_becomes_the_card(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    snapshot = connector.fetch_customer(AMELIA)
    card = snapshot.to_card_dict()

    assert snapshot.status == "ok", snapshot.problems
    assert card["profile"] == {
        "first_name": "Amelia",
        "last_name": "Clarke",
        "email": "amelia@example.com",
        "loyalty_tier": "gold",  # from the tag "Tier:Gold"
        "lifetime_value": "2340.50",
        "currency": "GBP",
        "sizes": {"top": "M", "shoes": "39"},
        "preferences": {},
        "marketing_consents": {"email": True},  # marketingState SUBSCRIBED
    }
    # The metafield's order; the deleted variant 4499 is dropped; ids and SKUs both resolve.
    assert [(i["sku"], i["size"], i["colour"], i["price"]) for i in card["wishlist"]] == [
        ("CT-7781-KHA-12", "12", "Khaki", "229.00"),
        ("JN-0100-IND-30", "30", "Indigo", "59.00"),
        ("KN-0012-IVO-M", "M", "Ivory", "89.00"),
    ]
    assert card["wishlist"][0] == {
        "sku": "CT-7781-KHA-12",
        "name": "Belted trench coat",
        "size": "12",
        "colour": "Khaki",
        "price": "229.00",
        "currency": "GBP",
        "image_url": "https://cdn.shopify.com/s/files/1/4402.jpg",
    }
    # Checkout 9001 is someone else's, 9002 was completed, 9003 has no customer: 9004 it is.
    cart = card["cart"]
    assert cart["updated_at"] == "2026-11-17T18:42:03.000Z"
    assert cart["total"] == "288.00"
    assert [(i["sku"], i["size"], i["colour"], i["unit_price"]) for i in cart["items"]] == [
        ("CT-7781-KHA-12", "12", "Khaki", "229.00"),
        ("JN-0100-IND-30", None, None, "59.00"),
    ]
    assert cart["items"][0]["image_url"] == "https://cdn.shopify.com/s/files/1/4402.jpg"
    assert len(card["orders"]) == 10
    placed = [o["placed_at"] for o in card["orders"]]
    assert placed == sorted(placed, reverse=True)
    first_order = fake_shopify.shop["customers"]["gid://shopify/Customer/1001"]["orders"][0]
    assert card["orders"][0]["order_id"] == first_order["name"]
    assert Decimal(card["orders"][0]["total"]) == Decimal(
        first_order["totalPriceSet"]["shopMoney"]["amount"]
    )


def test_the_queries_sent_are_the_documented_ones(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    connector.fetch_customer(f"gid://shopify/Customer/{AMELIA}")

    sent = dict(fake_shopify.requests)
    assert sent["HubCustomer"]["id"] == "gid://shopify/Customer/1001"
    assert sent["HubCustomer"]["wishlistNamespace"] == "custom"
    assert sent["HubCustomer"]["wishlistKey"] == "wishlist"
    assert sent["HubWishlistVariants"]["ids"] == [
        "gid://shopify/ProductVariant/4402",
        "gid://shopify/ProductVariant/4401",
        "gid://shopify/ProductVariant/4499",
    ]
    assert sent["HubWishlistSkus"]["query"] == 'sku:"JN-0100-IND-30"'
    assert "amelia@example.com" in sent["HubAbandonedCheckouts"]["query"]
    assert "status:open" in sent["HubAbandonedCheckouts"]["query"]


def test_orders_follow_page_info_until_ten(fake_shopify: FakeShopify) -> None:
    paged = connector_for(fake_shopify, orders_page_size=4)

    snapshot = paged.fetch_customer(AMELIA)

    order_pages = [v for op, v in fake_shopify.requests if op == "HubCustomerOrders"]
    assert len(order_pages) == 2  # 4 with the customer, then 4 and 4: ten are enough
    assert order_pages[0]["after"] is not None
    assert order_pages[1]["after"] != order_pages[0]["after"]
    all_orders = fake_shopify.shop["customers"]["gid://shopify/Customer/1001"]["orders"]
    assert [o.order_id for o in snapshot.orders] == [o["name"] for o in all_orders[:10]]
    assert snapshot.status == "ok"
    paged.close()


def test_checkouts_are_searched_page_by_page_until_the_customers_own(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    others = fake_shopify.shop["checkouts"][:1] * 10  # a first page of nobody's business
    fake_shopify.shop["checkouts"] = others + fake_shopify.shop["checkouts"]

    snapshot = connector.fetch_customer(AMELIA)

    searches = [v for op, v in fake_shopify.requests if op == "HubAbandonedCheckouts"]
    assert len(searches) == 2 and searches[1]["after"] is not None
    assert snapshot.cart is not None and snapshot.cart.total == Decimal("288.00")


def test_a_customer_without_email_or_metafields_is_still_ok(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    snapshot = connector.fetch_customer("1002")

    assert snapshot.status == "ok"
    assert snapshot.profile is not None and snapshot.profile.last_name == ""
    assert snapshot.profile.email is None and snapshot.profile.loyalty_tier is None
    assert snapshot.wishlist == () and snapshot.cart is None and snapshot.orders == ()
    assert fake_shopify.operations() == ["HubCustomer"]


def test_unknown_and_foreign_ids_are_unavailable(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    unknown = connector.fetch_customer("4242")
    foreign = connector.fetch_customer("c0001")

    assert unknown.status == foreign.status == "unavailable"
    assert ("profile", "not_found") in problems(unknown)
    assert ("profile", "not_found") in problems(foreign)
    assert fake_shopify.operations() == ["HubCustomer"]  # a non-Shopify id is never sent


def test_wrong_token_is_unauthorized(fake_shopify: FakeShopify) -> None:
    wrong = connector_for(fake_shopify, access_token="shpat_wrong")

    snapshot = wrong.fetch_customer(AMELIA)

    assert snapshot.status == "unavailable"
    assert problems(snapshot) == {
        (p, "unauthorized") for p in ("profile", "wishlist", "cart", "orders")
    }
    wrong.close()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_unavailable(
    fake_shopify: FakeShopify, connector: ShopifyConnector, status: int
) -> None:
    fake_shopify.faults.append(ShopifyFault(status=status))

    snapshot = connector.fetch_customer(AMELIA)

    assert snapshot.status == "unavailable"
    assert {p.detail for p in snapshot.problems} == {f"HTTP {status}"}
    assert problems(snapshot) == {
        (p, "http_error") for p in ("profile", "wishlist", "cart", "orders")
    }


def test_a_graphql_error_with_status_200_is_reported_not_raised(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    error = {
        "message": "Internal error. Looks like something went wrong on our end.",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "abc"},
    }
    fake_shopify.faults.append(ShopifyFault("HubCustomer", errors=[error], null_data=True))

    snapshot = connector.fetch_customer(AMELIA)

    assert snapshot.status == "unavailable"
    assert ("profile", "http_error") in problems(snapshot)
    assert "INTERNAL_SERVER_ERROR" in snapshot.problems[0].detail


def test_access_denied_on_checkouts_leaves_the_rest(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    denied = {
        "message": "Access denied for abandonedCheckouts field.",
        "locations": [{"line": 2, "column": 3}],
        "path": ["abandonedCheckouts"],
        "extensions": {"code": "ACCESS_DENIED", "requiredAccess": "`read_orders` access scope."},
    }
    fake_shopify.faults.append(
        ShopifyFault("HubAbandonedCheckouts", errors=[denied], null_data=True)
    )

    snapshot = connector.fetch_customer(AMELIA)

    assert snapshot.status == "partial"
    assert problems(snapshot) == {("cart", "unauthorized")}
    assert snapshot.profile is not None and snapshot.wishlist and snapshot.orders


def test_an_error_under_orders_costs_only_the_orders(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    error = {
        "message": "Access denied for orders field.",
        "path": ["customer", "orders"],
        "extensions": {"code": "ACCESS_DENIED"},
    }
    fake_shopify.faults.append(ShopifyFault("HubCustomer", errors=[error]))

    snapshot = connector.fetch_customer(AMELIA)

    assert snapshot.status == "partial"
    assert problems(snapshot) == {("orders", "unauthorized")}
    assert snapshot.profile is not None and snapshot.cart is not None


@pytest.mark.parametrize("body", ["truncated", "not_an_object"])
def test_malformed_bodies_are_detected(
    fake_shopify: FakeShopify, connector: ShopifyConnector, body: str
) -> None:
    fake_shopify.faults.append(ShopifyFault("HubCustomer", body=body))

    snapshot = connector.fetch_customer(AMELIA)

    assert snapshot.status == "unavailable"
    assert ("profile", "malformed") in problems(snapshot)


def test_money_of_the_wrong_type_is_rejected_per_part(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    fake_shopify.faults.append(ShopifyFault("HubWishlistVariants", body="wrong_types"))

    snapshot = connector.fetch_customer(AMELIA)

    assert snapshot.status == "partial"
    assert problems(snapshot) == {("wishlist", "malformed")}
    assert snapshot.wishlist == () and snapshot.cart is not None


def test_a_slow_shop_costs_one_timeout(
    fake_shopify: FakeShopify, hurried: ShopifyConnector
) -> None:
    fake_shopify.faults.append(ShopifyFault(latency_s=5))

    snapshot, elapsed = timed(hurried, AMELIA)

    assert elapsed < TIMEOUT_S + MARGIN_S
    assert problems(snapshot) == {(p, "timeout") for p in ("profile", "wishlist", "cart", "orders")}


def test_a_slow_follow_up_leaves_the_rest_within_the_deadline(
    fake_shopify: FakeShopify, hurried: ShopifyConnector
) -> None:
    fake_shopify.faults.append(ShopifyFault("HubAbandonedCheckouts", latency_s=5))

    snapshot, elapsed = timed(hurried, AMELIA)

    assert elapsed < TIMEOUT_S + MARGIN_S
    assert snapshot.status == "partial"
    assert problems(snapshot) == {("cart", "timeout")}


def test_a_shop_that_is_down_is_unreachable_at_once() -> None:
    nowhere = ShopifyConnector(
        ShopifySettings(f"http://127.0.0.1:{free_port()}", TOKEN, timeout_s=TIMEOUT_S)
    )

    snapshot, elapsed = timed(nowhere, AMELIA)

    assert elapsed < TIMEOUT_S
    assert problems(snapshot) == {
        (p, "unreachable") for p in ("profile", "wishlist", "cart", "orders")
    }
    nowhere.close()


def test_throttled_is_retried_once_after_the_wait_shopify_states(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    fake_shopify.bucket.restore_rate = 1000.0
    fake_shopify.faults.append(ShopifyFault("HubCustomer", throttle=True, times=1))

    snapshot = connector.fetch_customer(AMELIA)

    assert snapshot.status == "ok"
    assert fake_shopify.operations().count("HubCustomer") == 2
    assert fake_shopify.throttled == 1


def test_throttled_beyond_the_deadline_degrades_without_waiting(
    fake_shopify: FakeShopify, hurried: ShopifyConnector
) -> None:
    fake_shopify.bucket.restore_rate = 1.0  # 25 points at 1/s: far past a 0.5 s deadline
    fake_shopify.bucket.available = 0.0
    fake_shopify.bucket.maximum = 100.0

    snapshot, elapsed = timed(hurried, AMELIA)

    assert elapsed < TIMEOUT_S / 2
    assert problems(snapshot) == {
        (p, "throttled") for p in ("profile", "wishlist", "cart", "orders")
    }
    assert fake_shopify.operations() == ["HubCustomer"]  # asked once, not hammered


def test_the_cost_bucket_is_honoured_before_shopify_has_to_say_throttled(
    fake_shopify: FakeShopify,
) -> None:
    # Room for one fetch (25 + 4 + 6 + 30 points); the bucket refills at 400 points/s.
    fake_shopify.bucket.maximum = fake_shopify.bucket.available = 70.0
    fake_shopify.bucket.restore_rate = 400.0
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    patient = ShopifyConnector(ShopifySettings(fake_shopify.url, TOKEN, timeout_s=2.0), sleep=sleep)
    first = patient.fetch_customer(AMELIA)
    second = patient.fetch_customer(AMELIA)

    assert first.status == second.status == "ok"
    assert fake_shopify.throttled == 0
    assert waits and all(0 < w < 0.5 for w in waits)
    patient.close()


def test_http_429_is_retried_after_retry_after(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    fake_shopify.faults.append(ShopifyFault("HubCustomer", status=429, retry_after="0.1", times=1))

    snapshot = connector.fetch_customer(AMELIA)

    assert snapshot.status == "ok"
    assert fake_shopify.operations().count("HubCustomer") == 2


def test_http_429_twice_is_throttled(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    fake_shopify.faults.append(ShopifyFault("HubCustomer", status=429, retry_after="0.05"))

    snapshot = connector.fetch_customer(AMELIA)

    assert problems(snapshot) == {
        (p, "throttled") for p in ("profile", "wishlist", "cart", "orders")
    }
    assert fake_shopify.operations().count("HubCustomer") == 2


def test_a_wishlist_metafield_that_is_not_a_list_is_malformed(
    fake_shopify: FakeShopify, connector: ShopifyConnector
) -> None:
    fields = fake_shopify.shop["customers"]["gid://shopify/Customer/1001"]["metafields"]
    fields["custom.wishlist"] = {"type": "json", "value": '{"sku": "KN-0012-IVO-M"}'}

    snapshot = connector.fetch_customer(AMELIA)

    assert problems(snapshot) == {("wishlist", "malformed")}
    assert snapshot.profile is not None and snapshot.cart is not None


def test_a_configurable_wishlist_metafield(fake_shopify: FakeShopify) -> None:
    fields = fake_shopify.shop["customers"]["gid://shopify/Customer/1001"]["metafields"]
    fields["hub.saved"] = {
        "type": "list.variant_reference",
        "value": '["gid://shopify/ProductVariant/4401"]',
    }
    other = connector_for(fake_shopify, wishlist_metafield="hub.saved", sizes_metafield=None)

    snapshot = other.fetch_customer(AMELIA)

    assert [i.sku for i in snapshot.wishlist] == ["KN-0012-IVO-M"]
    assert snapshot.profile is not None and snapshot.profile.sizes == ()
    assert "HubWishlistSkus" not in fake_shopify.operations()
    other.close()


def test_a_degraded_fetch_is_logged_once(
    fake_shopify: FakeShopify, connector: ShopifyConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="store_hub.adapters.commerce.shopify")
    connector.fetch_customer(AMELIA)
    fake_shopify.faults.append(ShopifyFault(status=503))
    connector.fetch_customer(AMELIA)

    records = [r for r in caplog.records if r.name == "store_hub.adapters.commerce.shopify"]
    assert len(records) == 1 and "unavailable" in records[0].getMessage()
