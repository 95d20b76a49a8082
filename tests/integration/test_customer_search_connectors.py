"""`search_customers` through every connector: the reference store over HTTP, Shopify's local
stand-in, and the fetching policy (breaker, retry, no cache) around them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from store_hub.adapters.commerce import FetchPolicy, PolicyConnector, ReferenceStoreConnector
from store_hub.adapters.commerce.shopify import ShopifyConnector, ShopifySettings, shopify_search
from store_hub.demo.online_store import Fault, RunningStore, serve_in_thread
from tests.fixtures.fake_shopify import API_VERSION, TOKEN, FakeShopify, ShopifyFault
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = "test-commerce-key"
TIMEOUT_S = 0.5
MARGIN_S = 0.4


@pytest.fixture(scope="module")
def store() -> Iterator[RunningStore]:
    running = serve_in_thread(free_port(), api_key=KEY, anchor=ANCHOR)
    try:
        yield running
    finally:
        running.shutdown()


@pytest.fixture
def reference(store: RunningStore) -> Iterator[ReferenceStoreConnector]:
    store.faults.clear()
    store.requests.reset()
    client = ReferenceStoreConnector(store.url, KEY, timeout_s=TIMEOUT_S)
    yield client
    client.close()
    store.faults.clear()


def ids(connector: ReferenceStoreConnector | ShopifyConnector, query: str) -> list[str]:
    found = connector.search_customers(query, 20)
    assert found.status == "ok", found.problem
    return [m.customer_id for m in found.matches]


def test_the_reference_connector_finds_by_name_email_and_phone(
    store: RunningStore, reference: ReferenceStoreConnector
) -> None:
    yara = store.catalog.customers["c0001"]
    assert "c0001" in ids(reference, f"  {yara.first_name.lower()}   {yara.last_name.upper()} ")
    assert ids(reference, yara.email) == ["c0001"]
    assert ids(reference, "07700 900001") == ["c0001"]
    found = reference.search_customers(yara.email, 20)
    assert found.query == yara.email
    match = found.matches[0]
    assert (match.first_name, match.last_name, match.email, match.phone, match.loyalty_tier) == (
        yara.first_name,
        yara.last_name,
        yara.email,
        yara.phone,
        yara.loyalty_tier,
    )
    assert ids(reference, "nobody-by-this-name") == []


def test_the_reference_connector_says_when_there_are_more(
    reference: ReferenceStoreConnector,
) -> None:
    found = reference.search_customers("example.com", 5)
    assert len(found.matches) == 5 and found.more is True


def test_a_short_query_is_refused_without_asking_the_store(
    store: RunningStore, reference: ReferenceStoreConnector
) -> None:
    found = reference.search_customers(" a ", 20)
    assert found.status == "refused"
    assert found.problem is not None and found.problem.kind == "invalid_query"
    assert "at least 2" in found.problem.detail
    assert store.requests.count(r"^/commerce/v1/customers$") == 0


def test_a_slow_store_costs_the_search_its_deadline_only(
    store: RunningStore, reference: ReferenceStoreConnector
) -> None:
    store.faults.add(Fault(path=r"^/commerce/v1/customers$", latency_s=3.0))
    start = time.monotonic()
    found = reference.search_customers("yara", 20)
    assert time.monotonic() - start < TIMEOUT_S + MARGIN_S
    assert found.status == "unavailable"
    assert found.problem is not None and found.problem.kind == "timeout"


def test_store_errors_become_an_answer_not_an_exception(
    store: RunningStore, reference: ReferenceStoreConnector
) -> None:
    store.faults.add(Fault(path=r"^/commerce/v1/customers$", body="truncated"))
    truncated = reference.search_customers("yara", 20)
    assert truncated.problem is not None and truncated.problem.kind == "malformed"
    store.faults.replace([Fault(path=r"^/commerce/v1/customers$", status=503)])
    failing = reference.search_customers("yara", 20)
    assert failing.problem is not None and failing.problem.kind == "http_error"
    store.faults.clear()
    wrong_key = ReferenceStoreConnector(store.url, "wrong", timeout_s=TIMEOUT_S)
    try:
        denied = wrong_key.search_customers("yara", 20)
    finally:
        wrong_key.close()
    assert denied.problem is not None and denied.problem.kind == "unauthorized"


def test_searches_go_through_the_breaker_and_are_never_cached(store: RunningStore) -> None:
    store.faults.clear()
    store.requests.reset()
    policy = FetchPolicy(failure_threshold=2, cooldown_s=60, attempt_timeout_s=TIMEOUT_S)
    connector = PolicyConnector(
        ReferenceStoreConnector(store.url, KEY, timeout_s=TIMEOUT_S), policy
    )
    try:
        assert connector.search_customers("yara", 20).status == "ok"
        assert connector.search_customers("yara", 20).status == "ok"
        assert store.requests.count(r"^/commerce/v1/customers$") == 2  # not cached

        store.faults.add(Fault(path=r"^/commerce/v1/customers$", status=503))
        for _ in range(2):
            assert connector.search_customers("yara", 20).status == "unavailable"
        assert connector.breaker_status().state == "open"
        asked = store.requests.count(r"^/commerce/v1/customers$")
        fast = connector.search_customers("yara", 20)
        assert fast.problem is not None and fast.problem.kind == "circuit_open"
        # One store, one breaker: an arrival's fetch fails fast too, and neither reached it.
        assert connector.fetch_customer("c0001").problems[0].kind == "circuit_open"
        assert store.requests.count(r"^/commerce/v1/customers") == asked
        refused = connector.search_customers("y", 20)
        assert refused.status == "refused"  # a bad query is the associate's, not the store's
    finally:
        connector.close()
        store.faults.clear()


def test_an_unreachable_store_is_tried_once_more() -> None:
    connector = PolicyConnector(
        ReferenceStoreConnector(f"http://127.0.0.1:{free_port()}", KEY, timeout_s=TIMEOUT_S),
        FetchPolicy(attempt_timeout_s=TIMEOUT_S, retry_deadline_s=TIMEOUT_S * 3),
    )
    try:
        found = connector.search_customers("yara", 20)
        assert found.problem is not None and found.problem.kind == "unreachable"
        assert connector.health()["retries"] == 1
    finally:
        connector.close()


# -- Shopify ------------------------------------------------------------------------------------


@pytest.fixture
def shopify(fake_shopify: FakeShopify) -> Iterator[ShopifyConnector]:
    client = ShopifyConnector(
        ShopifySettings(
            shop=fake_shopify.url,
            access_token=TOKEN,
            api_version=API_VERSION,
            timeout_s=TIMEOUT_S,
        )
    )
    yield client
    client.close()


def test_shopify_finds_by_name_email_and_phone(
    fake_shopify: FakeShopify, shopify: ShopifyConnector
) -> None:
    assert ids(shopify, "amelia") == ["1001"]
    assert ids(shopify, "AMELIA@example.com") == ["1001"]
    assert ids(shopify, "07700 900101") == ["1001"]
    assert ids(shopify, "ben") == ["1002"]
    found = shopify.search_customers("Amelia Clarke", 20)
    match = found.matches[0]
    assert (match.customer_id, match.first_name, match.last_name) == ("1001", "Amelia", "Clarke")
    assert (match.email, match.phone, match.loyalty_tier) == (
        "amelia@example.com",
        "+447700900101",
        "gold",
    )
    operation, variables = fake_shopify.requests[-1]
    assert operation == "HubCustomerSearch"
    assert variables == {"query": '"Amelia" "Clarke"', "first": 20}


def test_shopify_full_text_hits_are_checked_against_the_query(
    fake_shopify: FakeShopify, shopify: ShopifyConnector
) -> None:
    # The fake, like Shopify's full text, answers any term: Ben is not an "amelia ben".
    assert ids(shopify, "amelia ben") == []
    assert len(fake_shopify.requests) == 1


def test_shopify_search_text_cannot_become_a_filter() -> None:
    assert shopify_search('tag:vip "x') == '"tag:vip" "\\"x"'
    assert shopify_search("+44 7700 900101") == '"447700900101"'
    assert shopify_search("07700 900101") == '"7700900101"'


def test_shopify_refusals_and_errors(fake_shopify: FakeShopify, shopify: ShopifyConnector) -> None:
    refused = shopify.search_customers("a", 20)
    assert refused.status == "refused" and fake_shopify.requests == []

    fake_shopify.faults.append(
        ShopifyFault(
            operation="HubCustomerSearch",
            errors=[{"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}],
            null_data=True,
        )
    )
    denied = shopify.search_customers("amelia", 20)
    assert denied.problem is not None and denied.problem.kind == "unauthorized"

    fake_shopify.faults.append(ShopifyFault(operation="HubCustomerSearch", latency_s=2.0))
    start = time.monotonic()
    slow = shopify.search_customers("amelia", 20)
    assert time.monotonic() - start < TIMEOUT_S + MARGIN_S
    assert slow.problem is not None and slow.problem.kind == "timeout"
