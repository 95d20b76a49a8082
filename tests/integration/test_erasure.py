"""Erasure reaches every table (SQLite and PostgreSQL), the EID table, the tablets and caches."""

from __future__ import annotations

import base64
import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from sqlalchemy import func, select

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import (
    Associate,
    Base,
    CardView,
    CustomerNote,
    Device,
    Offer,
    OfferDecision,
    PushSubscription,
    Visit,
    VisitSegment,
)
from store_hub.adapters.db.repositories import open_segment
from store_hub.api.session import SignedInAssociate
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.hub import Hub, build_hub
from store_hub.operations.enrollment import Consents, enroll_device, set_web_push
from store_hub.operations.erasure import ERASED, ERASERS, erase_customer
from store_hub.operations.notes import add_note, record_card_view
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.tablet_session import sign_in_over_http

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_every_table_with_a_customer_is_erased_or_reached_by_cascade() -> None:
    tables = Base.metadata.tables
    with_customer = {name for name, table in tables.items() if "customer_id" in table.c}
    assert with_customer == set(ERASERS), "a table holding customer_id is not erased"
    # Tables that hold no customer_id but point at erased rows must go or let go with them.
    for name, table in tables.items():
        for key in table.foreign_keys:
            if key.column.table.name in ("devices", "visits") and name not in ERASERS:
                assert key.ondelete in ("CASCADE", "SET NULL"), f"{name}.{key.parent.name}"


def shopper_with_history(db: Database, customer_id: str) -> None:
    """A device with push, an open visit with a zone segment and a card, an offer and decision."""
    with db.transaction() as session:
        device = enroll_device(session, customer_id, Consents(True, True, True), 10, NOW)
        set_web_push(session, device.id, "https://push.example/x", "p" * 87, "a" * 22, NOW)
        visit = Visit(
            id=f"v-{customer_id}",
            store_id="s042",
            device_id=device.id,
            customer_id=customer_id,
            arrived_at=NOW,
            last_seen=NOW,
            departed_at=None,
            zone="entrance",
            card={"profile": {"first_name": "Ada", "email": "ada@example.com"}},
        )
        session.add(visit)
        session.flush()
        open_segment(session, visit.id, "entrance", NOW)
        offer = Offer(
            id=f"o-{customer_id}",
            code=f"AAAAA-{customer_id[-5:].upper():0>5}",
            store_id="s042",
            customer_id=customer_id,
            device_id=device.id,
            visit_id=visit.id,
            rule_id="arrival-cart-10",
            qr_token="signed-token-binding-the-customer",
            kind="percent",
            scope="item",
            sku="SKU-1",
            title="10% off",
            description="One use.",
            locale="en",
            percent_off=10,
            discount=Decimal("4.99"),
            liability=Decimal("4.99"),
            currency="GBP",
            status="delivered",
            issued_at=NOW,
            expires_at=NOW + timedelta(hours=2),
            delivered_at=NOW,
            delivery_status="delivered",
            delivery_attempts=1,
            delivery_detail="accepted by the push service",
        )
        session.add(offer)
        session.flush()
        session.add(
            OfferDecision(
                rule_id="arrival-cart-10",
                store_id="s042",
                customer_id=customer_id,
                visit_id=visit.id,
                trigger="arrived",
                outcome="send",
                reason="sent",
                detail="",
                offer_id=offer.id,
                decided_at=NOW,
            )
        )
        if session.get(Associate, "a-1") is None:
            session.add(
                Associate(
                    id="a-1",
                    store_id="s042",
                    email="priya@store.example",
                    display_name="Priya",
                    role="associate",
                    password_hash="not-a-real-hash",
                    active=True,
                    created_at=NOW,
                )
            )
            session.flush()
        priya = SignedInAssociate("a-1", "s042", "Priya", "associate")
        add_note(session, priya, customer_id, "Prefers the navy, size M", NOW)
        record_card_view(session, priya, customer_id, visit.id, NOW)


def count(db: Database, model: Any, *where: Any) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_erasure_removes_the_person_and_keeps_the_books(db: Database) -> None:
    shopper_with_history(db, "c0001")
    shopper_with_history(db, "c0002")

    with db.transaction() as session:
        report = erase_customer(session, "c0001")

    assert report.rows == {
        "card_views": 1,
        "customer_notes": 1,
        "visits": 1,
        "devices": 1,
        "offers": 1,
        "offer_decisions": 1,
        "sales": 0,
    }
    assert [v.visit_id for v in report.open_visits] == ["v-c0001"]
    assert len(report.device_ids) == 1
    assert count(db, Device, Device.customer_id == "c0001") == 0
    assert count(db, Visit, Visit.customer_id == "c0001") == 0
    assert count(db, VisitSegment, VisitSegment.visit_id == "v-c0001") == 0
    assert count(db, PushSubscription, PushSubscription.device_id.in_(report.device_ids)) == 0
    # The money and the measurement stay, with no way back to the person.
    with db.transaction() as session:
        offer = session.get(Offer, "o-c0001")
        assert offer is not None
        assert (offer.customer_id, offer.device_id, offer.visit_id) == (ERASED, None, None)
        assert offer.qr_token is None
        assert offer.discount == Decimal("4.99")
        decision = session.scalars(
            select(OfferDecision).where(OfferDecision.offer_id == "o-c0001")
        ).one()
        assert (decision.customer_id, decision.visit_id) == (ERASED, None)
    # Notes about the person go; the audit trail of who looked stays, pointing at nobody.
    assert count(db, CustomerNote, CustomerNote.customer_id == "c0001") == 0
    with db.transaction() as session:
        view = session.scalars(select(CardView).where(CardView.customer_id == ERASED)).one()
        assert (view.visit_id, view.associate_id, view.viewed_at) == (None, "a-1", NOW)
    assert count(db, CustomerNote, CustomerNote.customer_id == "c0002") == 1
    assert count(db, CardView, CardView.customer_id == "c0002") == 1
    # Nobody else is touched.
    assert count(db, Device, Device.customer_id == "c0002") == 1
    assert count(db, VisitSegment, VisitSegment.visit_id == "v-c0002") == 1
    assert count(db, Offer, Offer.customer_id == "c0002") == 1
    # Erasing again finds nothing.
    with db.transaction() as session:
        again = erase_customer(session, "c0001")
    assert set(again.rows.values()) == {0}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        enroll_api_key="test-enroll-key",
        vapid_key_path=str(tmp_path / "vapid.pem"),
    )
    hub = build_hub(config)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        yield hub, server.url
    finally:
        server.stop()
        hub.stop()


def test_the_erase_api_stops_resolution_and_clears_the_tablets(served: tuple[Hub, str]) -> None:
    hub, base = served
    auth = {"Authorization": "Bearer test-enroll-key"}
    body = {
        "customer_id": "c0042",
        "consents": {"presence": True, "offers": True, "associate_view": True},
    }
    enrolled = requests.post(f"{base}/api/v1/devices", json=body, headers=auth, timeout=5).json()
    key = base64.b64decode(enrolled["identity_key"])
    token = eid_token(compute_eid(key, 10, int(hub.clock.now().timestamp())))
    assert hub.presence._table.resolve(token) == enrolled["device_id"]
    with hub.db.transaction() as session:
        session.add(
            Visit(
                id="v-open",
                store_id=hub.config.store_id,
                device_id=enrolled["device_id"],
                customer_id="c0042",
                arrived_at=NOW,
                last_seen=NOW,
                departed_at=None,
                zone=None,
            )
        )
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    tablet = socketio.Client()
    tablet.on("departed", events.put, namespace="/floor")
    tablet.connect(
        base,
        headers=sign_in_over_http(base, hub),
        namespaces=["/floor"],
        auth={"store_id": hub.config.store_id},
        transports=["websocket"],
    )
    try:
        response = requests.post(f"{base}/api/v1/customers/c0042/erase", headers=auth, timeout=5)
        assert response.status_code == 200, response.text
        assert response.json()["erased"]["devices"] == 1
        assert response.json()["erased"]["visits"] == 1
        # The card leaves every tablet at once, and the phone's tokens no longer resolve.
        assert events.get(timeout=5)["visit_id"] == "v-open"
        assert hub.presence._table.resolve(token) is None
    finally:
        tablet.disconnect()
    again = requests.post(f"{base}/api/v1/customers/c0042/erase", headers=auth, timeout=5)
    assert again.status_code == 200
    assert set(again.json()["erased"].values()) == {0}
    refused = requests.post(f"{base}/api/v1/customers/c0042/erase", timeout=5)
    assert refused.status_code == 401
