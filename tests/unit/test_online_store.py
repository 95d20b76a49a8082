"""The reference online store's API as docs/commerce-api.md describes it (Flask test client)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from store_hub.demo.catalog import DEFAULT_SEED, Catalog, generate_catalog
from store_hub.demo.online_store import Fault, Faults, create_app

ANCHOR = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = "unit-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
V1 = "/commerce/v1"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(DEFAULT_SEED, anchor=ANCHOR)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def client(catalog: Catalog, faults: Faults) -> FlaskClient:
    return create_app(catalog, KEY, faults).test_client()


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {KEY}", KEY])
def test_every_api_call_needs_the_bearer_key(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}

    response = client.get(f"{V1}/customers/c0001", headers=headers)

    assert response.status_code == 401
    assert response.json == {
        "error": {"code": "unauthorized", "message": "a valid API key is required (Bearer)"}
    }
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_customer_document(client: FlaskClient, catalog: Catalog) -> None:
    body = client.get(f"{V1}/customers/c0001", headers=AUTH).json
    customer = catalog.customers["c0001"]

    assert body is not None
    assert body["id"] == "c0001"
    assert body["first_name"] == customer.first_name
    assert body["loyalty"]["tier"] == customer.loyalty_tier
    assert body["lifetime_value"] == {"amount": str(customer.lifetime_value), "currency": "GBP"}
    assert body["created_at"].endswith("Z")
    assert set(body["marketing_consents"]) == {"email", "sms", "push"}
    assert body["orders_count"] == len(catalog.orders["c0001"])


def test_unknown_ids_and_paths_are_json_404s(client: FlaskClient) -> None:
    for path in ("/customers/c9999", "/customers/c9999/orders", "/products/NOPE", "/nothing"):
        response = client.get(f"{V1}{path}", headers=AUTH)
        assert response.status_code == 404, path
        assert response.json is not None and response.json["error"]["code"] == "not_found"


def test_orders_page_through_with_cursors(client: FlaskClient, catalog: Catalog) -> None:
    loyal = max(catalog.orders, key=lambda c: len(catalog.orders[c]))
    seen, url = [], f"{V1}/customers/{loyal}/orders?limit=3"
    while True:
        page = client.get(url, headers=AUTH).json
        assert page is not None and len(page["data"]) <= 3
        seen += [order["id"] for order in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        url = f"{V1}/customers/{loyal}/orders?limit=3&cursor={page['next_cursor']}"

    assert seen == [o.order_id for o in catalog.orders[loyal]]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=***"])
def test_bad_paging_is_a_400(client: FlaskClient, query: str) -> None:
    response = client.get(f"{V1}/customers/c0001/orders?{query}", headers=AUTH)

    assert response.status_code == 400
    assert response.json is not None and response.json["error"]["code"] == "invalid_request"


def test_carts_filter_by_status(client: FlaskClient, catalog: Catalog) -> None:
    abandoned = client.get(f"{V1}/customers/c0001/carts?status=abandoned", headers=AUTH).json
    bad = client.get(f"{V1}/customers/c0001/carts?status=lost", headers=AUTH)

    assert abandoned is not None
    assert [c["status"] for c in abandoned["data"]] == ["abandoned"]
    cart = abandoned["data"][0]
    assert cart["total"]["amount"] == str(
        next(c for c in catalog.carts["c0001"] if c.status == "abandoned").total
    )
    assert {"sku", "name", "quantity", "unit_price", "line_total"} <= set(cart["items"][0])
    assert bad.status_code == 400


def test_product_by_sku_and_its_image(client: FlaskClient, catalog: Catalog) -> None:
    variant = next(v for v in catalog.variants.values() if v.image_path)

    body = client.get(f"{V1}/products/{variant.sku}", headers=AUTH).json
    assert body is not None
    image = client.get(body["image_url"].removeprefix("http://localhost"))  # no key: browsers

    assert body["price"] == {"amount": str(variant.price), "currency": "GBP"}
    assert (body["size"], body["colour"]) == (variant.size, variant.colour)
    assert image.status_code == 200
    assert image.mimetype == "image/svg+xml"
    assert variant.colour_hex in image.get_data(as_text=True)


def test_injected_faults_apply_by_path(client: FlaskClient, faults: Faults) -> None:
    faults.add(Fault(path=r"/orders$", status=503))

    failing = client.get(f"{V1}/customers/c0001/orders", headers=AUTH)
    fine = client.get(f"{V1}/customers/c0001", headers=AUTH)

    assert failing.status_code == 503
    assert failing.json is not None and failing.json["error"]["code"] == "injected_fault"
    assert fine.status_code == 200


def test_the_contract_is_served_as_openapi_and_matches_what_the_store_answers(
    client: FlaskClient, catalog: Catalog
) -> None:
    spec = client.get(f"{V1}/openapi.json").get_json()  # public, like the docs
    assert spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    assert documented == {
        f"{V1}/customers",
        f"{V1}/customers/{{customer_id}}",
        f"{V1}/customers/{{customer_id}}/wishlist",
        f"{V1}/customers/{{customer_id}}/carts",
        f"{V1}/customers/{{customer_id}}/orders",
    }
    schemas = spec["components"]["schemas"]
    assert schemas["Money"]["properties"]["amount"] == {"type": "string", "format": "decimal"}
    # Every field the document requires is present in what the store actually answers.
    customer = client.get(f"{V1}/customers/c0001", headers=AUTH).get_json()
    assert set(schemas["Customer"]["required"]) <= set(customer)
    wishlist = client.get(f"{V1}/customers/c0001/wishlist", headers=AUTH).get_json()
    assert set(schemas["WishlistPage"]["required"]) <= set(wishlist)
    assert set(schemas["WishlistItem"]["required"]) <= set(wishlist["data"][0])
    orders = client.get(f"{V1}/customers/c0001/orders", headers=AUTH).get_json()
    assert set(schemas["Order"]["required"]) <= set(orders["data"][0])
