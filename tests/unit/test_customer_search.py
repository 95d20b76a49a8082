"""The rules of a customer search (pure), and the reference store's `GET /customers?query=`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from store_hub.demo.catalog import DEFAULT_SEED, Catalog, generate_catalog
from store_hub.demo.online_store import create_app
from store_hub.domain.customer_search import (
    QueryRefused,
    Searchable,
    checked_query,
    mask_email,
    mask_phone,
    matches,
    phone_digits,
)

ANCHOR = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = "unit-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
V1 = "/commerce/v1"
PRIYA = Searchable("Priya", "Shah", "priya.shah@shop.example", "+44 7700 900123")


@pytest.mark.parametrize(
    ("raw", "code"),
    [("", "query_too_short"), (" a  ", "query_too_short"), (None, "invalid_query"),
     (42, "invalid_query"), ("x" * 101, "query_too_long")],
)  # fmt: skip
def test_bad_queries_are_refused_with_a_reason(raw: object, code: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        checked_query(raw)
    assert refused.value.code == code
    assert refused.value.message


def test_a_query_is_trimmed_and_its_spaces_collapsed() -> None:
    assert checked_query("  Priya \t Shah ") == "Priya Shah"
    assert checked_query("ab") == "ab"


@pytest.mark.parametrize(
    "query",
    ["priya", "PRIYA", "shah priya", "Priya Shah", "priya.shah@shop", "SHOP.EXAMPLE",
     "900123", "+44 7700 900123", "07700 900123", "(0)7700-900-123", "0123"],
)  # fmt: skip
def test_name_email_and_phone_find_the_customer_whatever_the_case(query: str) -> None:
    assert matches(query, PRIYA)


@pytest.mark.parametrize("query", ["priyanka", "shah tom", "900124", "12", "@other"])
def test_other_queries_do_not(query: str) -> None:
    assert not matches(query, PRIYA)


def test_a_number_is_only_a_phone_number_with_enough_digits() -> None:
    assert phone_digits("+44 (0) 7700") == "4407700"
    assert phone_digits("12") is None  # too few digits to mean a number
    assert phone_digits("flat 12") is None
    assert not matches("900123", Searchable("Priya", "Shah", None, None))


def test_contacts_are_masked_to_tell_namesakes_apart() -> None:
    assert mask_email("priya.shah@shop.example") == "p\u2022\u2022\u2022@shop.example"
    assert mask_email("not-an-address") is None
    assert mask_email(None) is None
    assert mask_phone("+44 7700 900123") == "\u2022\u2022\u2022\u2022 0123"
    assert mask_phone("12") is None
    assert mask_phone(None) is None


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(DEFAULT_SEED, anchor=ANCHOR)


@pytest.fixture
def client(catalog: Catalog) -> FlaskClient:
    return create_app(catalog, KEY).test_client()


def found(client: FlaskClient, query: str, **params: str) -> list[str]:
    response = client.get(f"{V1}/customers", query_string={"query": query, **params}, headers=AUTH)
    assert response.status_code == 200, response.json
    assert response.json is not None
    return [entry["id"] for entry in response.json["data"]]


def test_the_store_searches_names_emails_and_phones(client: FlaskClient, catalog: Catalog) -> None:
    yara = catalog.customers["c0001"]
    assert "c0001" in found(client, yara.last_name.upper())
    assert found(client, yara.email) == ["c0001"]
    assert found(client, yara.phone) == ["c0001"]
    assert found(client, "07700 900001") == ["c0001"]
    body = client.get(f"{V1}/customers?query={yara.email}", headers=AUTH).json
    assert body is not None
    assert body["data"][0] == {
        "id": "c0001",
        "first_name": yara.first_name,
        "last_name": yara.last_name,
        "email": yara.email,
        "phone": yara.phone,
        "loyalty": {"tier": yara.loyalty_tier},
    }


def test_the_store_lists_matches_by_last_name_and_pages(
    client: FlaskClient, catalog: Catalog
) -> None:
    everyone = found(client, "example.com", limit="100")
    names = [(catalog.customers[c].last_name, catalog.customers[c].first_name) for c in everyone]
    assert names == sorted(names)
    response = client.get(f"{V1}/customers?query=example.com&limit=2", headers=AUTH)
    assert response.json is not None
    assert len(response.json["data"]) == 2 and response.json["has_more"] is True


@pytest.mark.parametrize("query", [None, "", "a", "x" * 101])
def test_the_store_refuses_bad_queries(client: FlaskClient, query: str | None) -> None:
    params = {} if query is None else {"query": query}
    response = client.get(f"{V1}/customers", query_string=params, headers=AUTH)
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"]["code"] == "invalid_request"
    assert response.json["error"]["message"].startswith("query: ")


def test_the_search_needs_the_key_like_every_call(client: FlaskClient) -> None:
    assert client.get(f"{V1}/customers?query=yara").status_code == 401
