"""Searching the client book and opening a customer who is not detected, on SQLite and PostgreSQL,
against the real reference online store; then the same through a signed-in tablet's socket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from store_hub.adapters.commerce import ReferenceStoreConnector
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import CardView, Device, InventoryItem, Visit
from store_hub.api.session import SignedInAssociate
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.demo.online_store import Fault, RunningStore, serve_in_thread
from store_hub.hub import Hub, build_hub
from store_hub.operations.associates import add_associate
from store_hub.operations.customer_search import CustomerLookup, LookupProblem, client_book
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.tablet_floor import Tablet

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NOW = ANCHOR + timedelta(hours=1)
KEY = "test-commerce-key"
STORE = "s042"
BULLET = "\u2022"
# Three Lindqvists in the online store; only Samuel is in the client book.
SAMUEL, ELENA, JONAS = "c0005", "c0008", "c0012"
YARA, ELLA, MATEO = "c0001", "c0007", "c0011"


@pytest.fixture(scope="module")
def store() -> Iterator[RunningStore]:
    running = serve_in_thread(free_port(), api_key=KEY, anchor=ANCHOR)
    try:
        yield running
    finally:
        running.shutdown()


def device(customer_id: str, *, view: bool = True, revoked: bool = False, **share: bool) -> Device:
    return Device(
        id=f"d-{customer_id}",
        customer_id=customer_id,
        identity_key=b"k" * 16,
        rotation_exponent=10,
        consent_presence=True,
        consent_offers=True,
        consent_associate_view=view,
        created_at=NOW - timedelta(days=30),
        revoked_at=NOW - timedelta(days=1) if revoked else None,
        **{f"share_{part}": value for part, value in share.items()},
    )


def seed(db: Database, store_id: str) -> None:
    """The client book, a shopper on the floor, and stock for the look-up card."""
    with db.transaction() as session:
        session.add_all(
            [
                device(SAMUEL),
                device(ELENA, view=False),  # enrolled for offers only: not in the book
                device(JONAS, revoked=True),  # left the programme
                device(YARA),
                device(ELLA, contact=False),
                device(MATEO, purchase_history=False),
            ]
        )
        session.flush()
        session.add(
            Visit(
                id="v-yara",
                store_id=store_id,
                device_id=f"d-{YARA}",
                customer_id=YARA,
                arrived_at=NOW,
                last_seen=NOW,
                departed_at=None,
                zone="Knitwear",
                card={"visit_id": "v-yara", "customer_id": YARA, "profile": None},
            )
        )


@pytest.fixture
def lookup(db: Database, store: RunningStore) -> Iterator[tuple[CustomerLookup, RunningStore]]:
    store.faults.clear()
    seed(db, STORE)
    connector = ReferenceStoreConnector(store.url, KEY, timeout_s=1.0)
    yield CustomerLookup(db, connector, lambda: NOW), store
    connector.close()
    store.faults.clear()


@pytest.fixture
def priya(db: Database) -> SignedInAssociate:
    return add_associate(db, STORE, "priya@store.example", "Priya", "associate", "pw-1234567", NOW)


def result_ids(answer: dict[str, Any]) -> list[str]:
    return [r["customer_id"] for r in answer["results"]]


def test_only_the_client_book_is_found(
    lookup: tuple[CustomerLookup, RunningStore], priya: SignedInAssociate
) -> None:
    service, store = lookup
    # The online store has all three Lindqvists; the tablet sees the one who opted in.
    online = service.commerce.search_customers("lindqvist", 100)
    assert {SAMUEL, ELENA, JONAS} <= {m.customer_id for m in online.matches}

    answer = service.search(priya, "  LINDQVIST ")
    samuel = store.catalog.customers[SAMUEL]
    assert answer["query"] == "LINDQVIST"
    assert answer["more"] is False
    assert answer["results"] == [
        {
            "customer_id": SAMUEL,
            "name": f"{samuel.first_name} {samuel.last_name}",
            "contact": {
                "email": f"{samuel.email[0]}{BULLET * 3}@example.com",
                "phone": f"{BULLET * 4} {samuel.phone[-4:]}",
            },
            "tier": samuel.loyalty_tier,
            "present": False,
            "visit_id": None,
        }
    ]
    for someone in (ELENA, JONAS):
        email = store.catalog.customers[someone].email
        assert service.search(priya, email)["results"] == []


def test_a_shopper_on_the_floor_is_found_as_in_store(
    lookup: tuple[CustomerLookup, RunningStore], priya: SignedInAssociate
) -> None:
    service, _ = lookup
    answer = service.search(priya, "07700 900001")
    assert [(r["customer_id"], r["present"], r["visit_id"]) for r in answer["results"]] == [
        (YARA, True, "v-yara")
    ]


def test_a_customer_who_keeps_their_contact_shows_no_hint_of_it(
    lookup: tuple[CustomerLookup, RunningStore], priya: SignedInAssociate
) -> None:
    service, store = lookup
    answer = service.search(priya, store.catalog.customers[ELLA].email)
    assert answer["results"][0]["contact"] == {"email": None, "phone": None}


def test_opening_a_customer_gives_the_floor_card_without_a_visit(
    db: Database, lookup: tuple[CustomerLookup, RunningStore], priya: SignedInAssociate
) -> None:
    service, store = lookup
    wished = store.catalog.wishlists[SAMUEL][0].sku
    with db.transaction() as session:
        variant = store.catalog.variants[wished]
        session.add(
            InventoryItem(
                store_id=STORE,
                sku=wished,
                product_code=variant.product_id,
                size=variant.size,
                on_hand=3,
                location="rail 4",
                updated_at=NOW,
            )
        )

    opened = service.open(priya, SAMUEL)

    assert opened["present"] is False
    card = opened["card"]
    assert "visit_id" not in card and card["present"] is False
    assert card["customer_id"] == SAMUEL
    assert card["profile_status"] == "ok"
    assert card["profile"]["last_name"] == "Lindqvist"
    assert card["offer"] is None
    assert card["notes"] == []
    assert card["hidden"] == [] or all(h["field"] == "contact" for h in card["hidden"])
    first = card["wishlist"][0]
    assert first["sku"] == wished and first["stock_here"]["available"] == 3
    assert card["in_stock_here_count"] >= 1
    assert [h["ref"] for h in card["history"] if h["channel"] == "online"] == [
        o.order_id for o in store.catalog.orders[SAMUEL]
    ][: len(card["history"])]
    assert isinstance(card["segments"], list)
    with db.transaction() as session:
        view = session.scalars(select(CardView)).one()
        assert (view.customer_id, view.visit_id, view.associate_id, view.store_id) == (
            SAMUEL,
            None,
            priya.associate_id,
            STORE,
        )
        assert view.viewed_at == NOW


def test_a_look_up_card_keeps_what_the_customer_does_not_share(
    lookup: tuple[CustomerLookup, RunningStore], priya: SignedInAssociate
) -> None:
    service, _ = lookup
    card = service.open(priya, MATEO)["card"]
    assert {"field": "purchase_history", "reason": "Not shared by the customer"} in card["hidden"]
    assert card["orders"] == [] and card["history"] == []
    assert "lifetime_value" not in card["profile"]


def test_opening_a_present_customer_gives_their_live_card(
    db: Database, lookup: tuple[CustomerLookup, RunningStore], priya: SignedInAssociate
) -> None:
    service, _ = lookup
    opened = service.open(priya, YARA)
    assert opened == {
        "present": True,
        "card": {"visit_id": "v-yara", "customer_id": YARA, "profile": None, "present": True},
    }
    with db.transaction() as session:
        assert session.scalars(select(CardView.visit_id)).all() == ["v-yara"]


@pytest.mark.parametrize("customer_id", [ELENA, JONAS, "c0400", "nobody"])
def test_customers_outside_the_book_cannot_be_opened(
    db: Database,
    lookup: tuple[CustomerLookup, RunningStore],
    priya: SignedInAssociate,
    customer_id: str,
) -> None:
    service, _ = lookup
    with pytest.raises(LookupProblem) as refused:
        service.open(priya, customer_id)
    assert refused.value.code == "not_found"
    with db.transaction() as session:
        assert session.scalars(select(CardView)).all() == []


def test_bad_queries_and_a_failing_store_are_refused_with_a_reason(
    lookup: tuple[CustomerLookup, RunningStore], priya: SignedInAssociate
) -> None:
    service, store = lookup
    for query, code in (("a", "query_too_short"), (None, "invalid_query"), ("", "query_too_short")):
        with pytest.raises(LookupProblem) as refused:
            service.search(priya, query)
        assert refused.value.code == code and refused.value.message
    store.faults.add(Fault(path=r"^/commerce/v1/customers$", status=503))
    with pytest.raises(LookupProblem) as unavailable:
        service.search(priya, "lindqvist")
    assert unavailable.value.code == "store_unavailable"


# -- through the tablet's socket --------------------------------------------------------------


@pytest.fixture
def lookup_hub(tmp_path: Path, store: RunningStore) -> Iterator[tuple[Hub, str]]:
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        commerce_url=store.url,
        commerce_api_key=KEY,
    )
    hub = build_hub(config)
    seed(hub.db, config.store_id)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        yield hub, server.url
    finally:
        server.stop()
        hub.stop()


def test_tablet_actions_search_and_open(lookup_hub: tuple[Hub, str]) -> None:
    hub, base = lookup_hub
    tablet = Tablet(hub, base, "Priya")
    try:
        found = tablet.ask("search_customers", {"query": "Lindqvist"})
        assert found["ok"] is True and result_ids(found) == [SAMUEL]
        opened = tablet.ask("open_customer", {"customer_id": SAMUEL})
        assert opened["ok"] is True and opened["present"] is False
        assert "visit_id" not in opened["card"]

        short = tablet.ask("search_customers", {"query": "L"})
        assert short["ok"] is False and short["error"]["code"] == "query_too_short"
        assert tablet.ask("search_customers", {})["error"]["code"] == "invalid_query"
        assert tablet.ask("open_customer", {})["error"]["code"] == "invalid_request"
        hidden = tablet.ask("open_customer", {"customer_id": ELENA})
        assert hidden["ok"] is False and hidden["error"]["code"] == "not_found"
        with hub.db.transaction() as session:
            views = session.scalars(select(CardView)).all()
            assert [(v.customer_id, v.visit_id) for v in views] == [(SAMUEL, None)]
            assert views[0].associate_id == tablet.associate.associate_id
    finally:
        tablet.client.disconnect()


def test_the_client_book_is_every_active_phone_that_allows_associate_view(db: Database) -> None:
    def phone(device_id: str, customer_id: str, **kwargs: Any) -> Device:
        made = device(customer_id, **kwargs)
        made.id = device_id
        return made

    with db.transaction() as session:
        session.add_all(
            [
                phone("d-a1", "a", revoked=True),
                phone("d-a2", "a"),  # a new phone after revoking the old one
                phone("d-b1", "b", revoked=True),
                phone("d-b2", "b", view=False),
                phone("d-c1", "c"),
                phone("d-c2", "c", contact=False),  # one phone keeps contact: hidden
            ]
        )
    with db.transaction() as session:
        assert client_book(session, ["a", "b", "c", "d"]) == {"a": True, "c": False}
        assert client_book(session, []) == {}
