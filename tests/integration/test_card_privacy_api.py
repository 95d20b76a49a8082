"""Card sharing over the real API and Socket.IO: what a shopper keeps back never reaches a tablet.

SQLite and PostgreSQL, with the reference online store and a signed-in tablet on /floor.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from store_hub.adapters.db.engine import make_engine
from store_hub.adapters.db.models import Device, Visit
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.demo.online_store import RunningStore, serve_in_thread
from store_hub.hub import Hub, build_hub
from store_hub.operations.events import VisitStarted
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.tablet_floor import TIMEOUT, Tablet

pytestmark = pytest.mark.integration
STORE = "s042"
ANCHOR = datetime(2026, 11, 24, tzinfo=UTC)
ENROLL = {"Authorization": "Bearer test-enroll-key"}
POS = {"Authorization": "Bearer test-pos-key"}
NOT_SHARED = "Not shared by the customer"


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningStore]:
    running = serve_in_thread(free_port(), anchor=ANCHOR)
    try:
        yield running
    finally:
        running.shutdown()


@dataclass
class Api:
    hub: Hub
    base: str

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] = ENROLL
    ) -> requests.Response:
        return requests.request(
            method, f"{self.base}/api/v1{path}", json=body, headers=headers, timeout=10
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path, shop: RunningStore) -> Iterator[Api]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/hub.db"
    else:
        url = request.getfixturevalue("postgres_url")
        with make_engine(url).begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    config = HubConfig().with_overrides(
        store_id=STORE,
        database_url=url,
        pos_api_key="test-pos-key",
        enroll_api_key="test-enroll-key",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        commerce_url=shop.url,
        commerce_timeout_s=2.0,
    )
    hub = build_hub(config)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        yield Api(hub, server.url)
    finally:
        server.stop()
        hub.stop()


def enroll(api: Api, **extra: Any) -> dict[str, Any]:
    body = {
        "customer_id": "c0001",
        "consents": {"presence": True, "offers": False, "associate_view": True},
        **extra,
    }
    response = api.call("POST", "/devices", body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def walk_in(api: Api, device_id: str, visit_id: str) -> None:
    """An open visit, then the arrival path the hub runs when presence reports one."""
    now = datetime.now(UTC)
    with api.hub.db.transaction() as session:
        session.add(Visit(id=visit_id, store_id=STORE, device_id=device_id, customer_id="c0001",
                          arrived_at=now, last_seen=now, departed_at=None, zone=None))  # fmt: skip
    api.hub.arrivals.handle_arrival(
        VisitStarted(STORE, visit_id, device_id, "c0001", now, None, None)
    )


def in_store_sale(api: Api) -> None:
    sale = {
        "receipt_id": "R-PRIV",
        "sold_at": "2026-11-20T10:15:00Z",
        "customer_id": "c0001",
        "lines": [{"sku": "KN-0001-BLK-M", "name": "Jumper", "quantity": 1,
                   "unit_price": "89.00", "currency": "GBP"}],
        "totals": {"subtotal": "89.00", "total": "89.00", "currency": "GBP"},
        "payment_type": "card",
    }  # fmt: skip
    response = api.call("POST", f"/stores/{STORE}/sales", sale, headers=POS)
    assert response.status_code == 201, response.text


def stored_card(api: Api, visit_id: str) -> dict[str, Any]:
    with api.hub.db.transaction() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.card is not None
        return dict(visit.card)


def test_a_shopper_who_keeps_history_back_reaches_the_tablet_without_it(api: Api) -> None:
    in_store_sale(api)
    device = enroll(api, card_sharing={"purchase_history": False})
    assert device["card_sharing"] == {
        "sizes": True,
        "wishlist_and_cart": True,
        "purchase_history": False,
        "contact": True,
    }
    tablet = Tablet(api.hub, api.base, "Priya")
    arrivals: queue.Queue[dict[str, Any]] = queue.Queue()
    tablet.client.on("arrived", arrivals.put, namespace="/floor")
    try:
        walk_in(api, device["device_id"], "v-priv")

        pending = arrivals.get(timeout=TIMEOUT)
        assert {"field": "purchase_history", "reason": NOT_SHARED} in pending["hidden"]
        card = tablet.updates.get(timeout=TIMEOUT)
        assert card["visit_id"] == "v-priv" and card["profile_status"] == "ok"
        assert card["history"] == [] and card["orders"] == []
        assert "lifetime_value" not in card["profile"]
        assert not {"vip", "new", "lapsing", "frequent"} & set(card["segments"])
        assert card["hidden"][0] == {"field": "purchase_history", "reason": NOT_SHARED}
        assert "R-PRIV" not in str(card)
        # What the shopper shares is all there.
        assert card["wishlist"] and card["profile"]["sizes"]
        # Stored as sent: a tablet's floor snapshot shows the same.
        assert stored_card(api, "v-priv") == card

        # The online profile refreshes in the background: still without history.
        snapshot = api.hub.commerce.fetch_customer("c0001")
        assert snapshot.orders, "the reference customer has online orders to keep back"
        api.hub.arrivals.on_profile_refreshed(snapshot)
        refreshed = tablet.updates.get(timeout=TIMEOUT)
        assert refreshed["history"] == [] and refreshed["orders"] == []
        assert refreshed["hidden"][0]["field"] == "purchase_history"

        # The shopper withdraws the wishlist too, in the app: it leaves every tablet at once.
        changed = api.call(
            "PUT",
            f"/devices/{device['device_id']}/card-sharing",
            {"sizes": True, "wishlist_and_cart": False, "purchase_history": False,
             "contact": True},
        )  # fmt: skip
        assert changed.status_code == 200, changed.text
        assert changed.json()["cards_updated"] == 1
        cleared = tablet.updates.get(timeout=TIMEOUT)
        assert cleared["wishlist"] == [] and cleared["cart"] is None
        assert "in_stock_here_count" not in cleared
        assert [entry["field"] for entry in cleared["hidden"]][:2] == [
            "wishlist_and_cart",
            "purchase_history",
        ]
        assert stored_card(api, "v-priv") == cleared
        with api.hub.db.transaction() as session:
            stored = session.get(Device, device["device_id"])
            assert stored is not None and stored.share_wishlist_and_cart is False
    finally:
        tablet.client.disconnect()


def test_apps_that_do_not_ask_share_everything_and_bad_changes_are_refused(api: Api) -> None:
    device = enroll(api)
    assert set(device["card_sharing"].values()) == {True}
    path = f"/devices/{device['device_id']}/card-sharing"

    partial = api.call("PUT", path, {"purchase_history": False})
    assert partial.status_code == 422
    assert "sizes" in partial.text  # a part left out must be said, not assumed
    odd = api.call("PUT", path, {"sizes": True, "wishlist_and_cart": True,
                                 "purchase_history": True, "contact": True, "x": 1})  # fmt: skip
    assert odd.status_code == 422
    whole = {"sizes": False, "wishlist_and_cart": True, "purchase_history": True, "contact": True}
    assert api.call("PUT", "/devices/nope/card-sharing", whole).status_code == 404
    assert api.call("PUT", path, whole, headers=POS).status_code in (401, 403)
    bad_enroll = api.call(
        "POST",
        "/devices",
        {"customer_id": "c0002", "card_sharing": {"sizes": "maybe"},
         "consents": {"presence": True, "offers": True, "associate_view": True}},
    )  # fmt: skip
    assert bad_enroll.status_code == 422

    # A visit that has ended keeps its card for a return within the re-entry window: cleared too.
    now = datetime.now(UTC)
    card = {"visit_id": "v-gone", "profile": {"sizes": {"top": "M"}}}
    with api.hub.db.transaction() as session:
        session.add(Visit(id="v-gone", store_id=STORE, device_id=device["device_id"],
                          customer_id="c0001", arrived_at=now, last_seen=now, departed_at=now,
                          zone=None, card=card))  # fmt: skip
    answer = api.call("PUT", path, whole)
    assert answer.status_code == 200
    gone = stored_card(api, "v-gone")
    assert "sizes" not in gone["profile"] and gone["hidden"][0]["field"] == "sizes"
    assert answer.json() == {"device_id": device["device_id"], "card_sharing": whole,
                             "cards_updated": 0}  # fmt: skip
