"""VIP arrival alerts over real Socket.IO: a real hub, the reference online store, two tablets.

Arrivals go through the hub's arrival pipeline (ArrivalService.handle_arrival, as presence
would call it) with profiles from the reference online store served over HTTP.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import socketio

from store_hub.adapters.commerce import ReferenceStoreConnector
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Visit
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.domain.vip import ALERTED_KEY
from store_hub.hub import Hub, build_hub
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.operations.events import VisitStarted
from store_hub.operations.vip_alerts import VipAlerts
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.tablet_session import sign_in_over_http

pytestmark = pytest.mark.integration
STORE = "s042"
TIMEOUT = 5.0
# Customers of the reference online store (seeded, so the same on every run).
VIP = "c0012"  # platinum
LATER_VIP = "c0017"  # platinum
HIDDEN_VIP = "c0043"  # platinum, but keeps their card from associates
REGULAR = "c0008"  # bronze, small lifetime value


@pytest.fixture
def online_store() -> Iterator[str]:
    """The reference online store."""
    from store_hub.demo.online_store import serve_in_thread

    port = free_port()
    server = serve_in_thread(port=port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


@pytest.fixture
def served(online_store: str, tmp_path: Path) -> Iterator[tuple[Hub, str, HubConfig]]:
    """A hub (not ingesting) served over HTTP, with four shoppers enrolled."""
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        commerce_url=online_store,
    )
    connector = ReferenceStoreConnector(online_store, "demo-commerce-key")
    tiers = {c: connector.fetch_customer(c).profile for c in (VIP, LATER_VIP, HIDDEN_VIP, REGULAR)}
    assert {c: p.loyalty_tier for c, p in tiers.items() if p} == {
        VIP: "platinum",
        LATER_VIP: "platinum",
        HIDDEN_VIP: "platinum",
        REGULAR: "bronze",
    }, "the reference store's customers changed: pick others for this test"
    hub = build_hub(config)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        yield hub, server.url, config
    finally:
        server.stop()
        hub.stop()


class Tablet:
    """A signed-in associate's socket on /floor, recording what the hub pushes."""

    def __init__(self, hub: Hub, base: str, name: str) -> None:
        self.vip: queue.Queue[dict[str, Any]] = queue.Queue()
        self.cards: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("vip_arrived", self.vip.put, namespace="/floor")
        self.client.on("card_updated", self.cards.put, namespace="/floor")
        self.client.connect(
            base,
            headers=sign_in_over_http(base, hub, name),
            namespaces=["/floor"],
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )

    def alerts_until(self, visit_id: str) -> list[str]:
        """The visits alerted for, in order, up to and including `visit_id`'s alert."""
        seen: list[str] = []
        while not seen or seen[-1] != visit_id:
            seen.append(self.vip.get(timeout=TIMEOUT)["visit_id"])
        return seen


def arrive(hub: Hub, customer_id: str, visit_id: str, *, associate_view: bool = True) -> None:
    """Enroll the customer's phone, open a visit at the entrance, and run the arrival."""
    now = datetime.now(UTC)
    with hub.db.transaction() as session:
        device = enroll_device(
            session, customer_id, Consents(True, True, associate_view), 10, now, bytes(16)
        )
        device_id = device.id
        session.flush()
        session.add(
            Visit(
                id=visit_id,
                store_id=STORE,
                device_id=device_id,
                customer_id=customer_id,
                arrived_at=now,
                last_seen=now,
                departed_at=None,
                zone="Entrance",
                card=None,
            )
        )
    hub.arrivals.handle_arrival(
        VisitStarted(STORE, visit_id, device_id, customer_id, now, None, "Entrance", "entrance")
    )


def test_one_alert_per_vip_visit_on_every_tablet(served: tuple[Hub, str, HubConfig]) -> None:
    hub, base, config = served
    priya, tom = Tablet(hub, base, "Priya"), Tablet(hub, base, "Tom")
    try:
        arrive(hub, VIP, "v-vip")
        profile = hub.commerce.fetch_customer(VIP).profile
        assert profile is not None
        expected = {
            "visit_id": "v-vip",
            "name": f"{profile.first_name} {profile.last_name[0]}.",
            "tier": "platinum",
            "zone": "Entrance",
            "zone_id": "entrance",
        }
        for tablet in (priya, tom):
            alert = tablet.vip.get(timeout=TIMEOUT)
            assert {k: alert[k] for k in expected} == expected
            assert alert["arrived_at"].endswith("Z")

        # Neither a regular shopper nor a VIP who keeps their card from associates alerts.
        arrive(hub, REGULAR, "v-regular")
        arrive(hub, HIDDEN_VIP, "v-hidden", associate_view=False)
        # A background profile refresh re-sends the VIP's card, and so does a restarted hub
        # (a fresh process on the same database): neither alerts again.
        hub.arrivals.on_profile_refreshed(hub.commerce.fetch_customer(VIP))
        restarted = build_hub(config)
        try:
            restarted.arrivals.on_profile_refreshed(restarted.commerce.fetch_customer(VIP))
        finally:
            restarted.stop()
        assert priya.cards.get(timeout=TIMEOUT)["visit_id"] == "v-vip"  # the arrival's card

        # A later VIP alerts; Socket.IO keeps order per connection, so whatever came before it
        # has arrived by then: exactly one alert for the first VIP and none for the others.
        arrive(hub, LATER_VIP, "v-later")
        for tablet in (priya, tom):
            assert tablet.alerts_until("v-later") == ["v-later"]
        with hub.db.transaction() as session:
            stored = session.get(Visit, "v-vip")
            assert stored is not None and stored.card is not None
            assert stored.card[ALERTED_KEY]
            regular = session.get(Visit, "v-regular")
            assert regular is not None and regular.card is not None
            assert "vip" not in regular.card.get("segments", [])
            assert ALERTED_KEY not in regular.card
    finally:
        priya.client.disconnect()
        tom.client.disconnect()


def test_a_departed_vip_is_not_alerted_for(served: tuple[Hub, str, HubConfig]) -> None:
    hub, base, config = served
    tablet = Tablet(hub, base, "Priya")
    try:
        arrive(hub, REGULAR, "v-regular")
        with hub.db.transaction() as session:
            visit = session.get(Visit, "v-regular")
            assert visit is not None and visit.card is not None
            # The profile turned VIP while the shopper was leaving: the visit is closed.
            visit.departed_at = datetime.now(UTC)
        vip_card = {**visit.card, "segments": ["vip"]}
        alerts = VipAlerts(hub.db, hub.broadcaster, config.vip_tiers, hub.clock.now)
        assert alerts.card_sent(STORE, vip_card) is False
        arrive(hub, LATER_VIP, "v-later")
        assert tablet.alerts_until("v-later") == ["v-later"]
    finally:
        tablet.client.disconnect()


class Recorder:
    """The alerts a channel was asked to send (the Socket.IO side is the tests above)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def vip_arrived(self, store_id: str, alert: dict[str, Any]) -> None:
        with self._lock:
            self.sent.append({"store_id": store_id, **alert})


def test_cards_offered_at_once_alert_exactly_once(db: Database) -> None:
    now = datetime.now(UTC)
    card = {
        "visit_id": "v-1",
        "arrived_at": "2026-11-24T10:00:00.000Z",
        "zone": "Entrance",
        "zone_id": "entrance",
        "profile": {"first_name": "Jane", "last_name": "Doe", "loyalty_tier": "Platinum"},
        "segments": [],
    }
    with db.transaction() as session:
        device = enroll_device(session, "c-1", Consents(True, True, True), 10, now, bytes(16))
        session.flush()
        session.add(
            Visit(
                id="v-1",
                store_id=STORE,
                device_id=device.id,
                customer_id="c-1",
                arrived_at=now,
                last_seen=now,
                departed_at=None,
                zone="Entrance",
                card=card,
            )
        )
    channel = Recorder()
    # PostgreSQL's row lock holds across hub processes; a SQLite hub is one process.
    processes = 2 if db.engine.dialect.name == "postgresql" else 1
    alerts = [VipAlerts(db, channel, ("platinum",), lambda: now) for _ in range(processes)]
    # Another store's tablets never hear of this visit.
    assert alerts[0].card_sent("s999", card) is False
    start = threading.Barrier(6)
    answers: list[bool] = []

    def offer(index: int) -> None:
        start.wait()
        answers.append(alerts[index % processes].card_sent(STORE, card))

    threads = [threading.Thread(target=offer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert sorted(answers) == [False] * 5 + [True]
    assert channel.sent == [
        {
            "store_id": STORE,
            "visit_id": "v-1",
            "name": "Jane D.",
            "tier": "Platinum",
            "zone": "Entrance",
            "zone_id": "entrance",
            "arrived_at": "2026-11-24T10:00:00.000Z",
        }
    ]
