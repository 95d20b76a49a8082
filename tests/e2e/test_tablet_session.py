"""The associate's tablet end to end: sign in, a shopper arrives over MQTT, claim, redeem, resync.

A real hub in this process (MQTT ingest from the `mosquitto` fixture, the reference online
store, SQLite) and two browser contexts, one per associate.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from beacon_agent.mqtt_session import BrokerAddress, persistent_client
from beacon_agent.protocol import SIGHTINGS, Sighting, SightingsReport, agent_topic, dump_report
from store_hub.adapters.commerce import ReferenceStoreConnector
from store_hub.adapters.db.models import InventoryItem, Visit
from store_hub.adapters.realtime import socketio as hub_socketio
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.hub import Hub, build_hub
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.server import HubServer
from tests.e2e.test_door_to_tablet import RULES
from tests.e2e.test_floor_page import drop_every_connection
from tests.fixtures.browser import save_screenshot
from tests.fixtures.mosquitto import Broker, free_port
from tests.fixtures.tablet_session import TEST_PASSWORD, add_test_associate

pytestmark = pytest.mark.e2e
STORE = "s042"
CUSTOMER = "c0001"
KEY = bytes(range(16))
IT = {"Authorization": "Bearer test-it-key"}
CARDS = '[data-testid="shopper-card"]'


class Door:
    """The door agent: keeps reporting the shopper's phone until told they left."""

    def __init__(self, broker: Broker) -> None:
        self.client = persistent_client(f"door-{free_port()}")
        address = BrokerAddress.parse(broker.url)
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        self.seq = 0
        self.present = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.5):
            if self.present.is_set():
                self.report()

    def report(self) -> None:
        """One report with the phone's current EID."""
        now = datetime.now(UTC)
        token = eid_token(compute_eid(KEY, 10, int(now.timestamp())))
        report = SightingsReport(
            STORE, "door-1", "b1", self.seq, now, (Sighting(token, -55.0, 4, now, now),)
        )
        self.seq += 1
        topic = agent_topic("", STORE, "door-1", SIGHTINGS)
        self.client.publish(topic, json.dumps(dump_report(report)), qos=1)

    def close(self) -> None:
        """Stop reporting and disconnect."""
        self.stopped.set()
        self.thread.join(5)
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def online_store() -> Iterator[str]:
    """The reference online store, which knows c0001's wishlist."""
    from store_hub.demo.online_store import serve_in_thread

    port = free_port()
    server = serve_in_thread(port=port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


@pytest.fixture
def store(mosquitto: Broker, online_store: str, tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    """A running hub whose shopper has a wishlist item in stock here and an offer rule for it."""
    rules = tmp_path / "offer_rules.yaml"
    rules.write_text(RULES)
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        broker_url=mosquitto.url,
        commerce_url=online_store,
        vapid_key_path=str(tmp_path / "vapid.pem"),
        it_api_key="test-it-key",
        offer_rules_path=str(rules),
        away_timeout_s=5,
    )
    sku = ReferenceStoreConnector(online_store, "demo-commerce-key").fetch_customer(CUSTOMER)
    hub = build_hub(config)
    now = datetime.now(UTC)
    with hub.db.transaction() as session:
        enroll_device(session, CUSTOMER, Consents(True, True, True), 10, now, KEY)
        session.add(
            InventoryItem(
                store_id=STORE,
                sku=sku.wishlist[0].sku,
                product_code=sku.wishlist[0].sku,
                on_hand=2,
                location="Rail 4",
                size=None,
                colour=None,
                updated_at=now,
            )
        )
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    hub.start()
    assert hub.ingest.connected.wait(5)
    api = f"{server.url}/api/v1/stores/{STORE}"
    zone = {"name": "Entrance", "kind": "entrance"}
    assert requests.put(f"{api}/zones/entrance", json=zone, headers=IT, timeout=5).ok
    assert requests.put(f"{api}/agents/door-1", json={"zone_id": "entrance"}, headers=IT).ok
    try:
        yield hub, server.url
    finally:
        server.stop()
        hub.stop()


def signed_in_page(browser: Browser, base: str, email: str) -> tuple[BrowserContext, Page]:
    """A tablet-sized context signed in through the sign-in form."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", timezone_id="Europe/London"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/tablet/")
    expect(page).to_have_url(f"{base}/tablet/sign-in?next=/tablet/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    return context, page


def departed(hub: Hub) -> bool:
    """Whether the hub has closed the shopper's visit."""
    with hub.db.transaction() as session:
        visits = session.query(Visit).filter(Visit.customer_id == CUSTOMER).all()
        return bool(visits) and all(visit.departed_at is not None for visit in visits)


def test_two_associates_claim_redeem_and_resync_a_departure(
    store: tuple[Hub, str], mosquitto: Broker, browser: Browser
) -> None:
    hub, base = store
    add_test_associate(hub, email="priya@store.example", name="Priya")
    add_test_associate(hub, email="tom@store.example", name="Tom")
    wrong = requests.post(
        f"{base}/tablet/session", data={"email": "tom@store.example", "password": "nope"}
    )
    assert wrong.status_code == 401 and "do not match" in wrong.text
    door = Door(mosquitto)
    contexts: list[BrowserContext] = []
    try:
        sign_in = browser.new_page()
        sign_in.goto(f"{base}/tablet/sign-in")
        save_screenshot(sign_in, "tablet-sign-in")
        sign_in.close()
        priya_context, priya = signed_in_page(browser, base, "priya@store.example")
        tom_context, tom = signed_in_page(browser, base, "tom@store.example")
        contexts += [priya_context, tom_context]
        expect(priya.locator("body")).to_have_attribute("data-transport", "websocket")
        expect(tom.locator("body")).to_have_attribute("data-transport", "websocket")

        door.present.set()
        card = priya.locator(CARDS)
        expect(card).to_have_count(1)
        # The online profile fills the card in: the wishlist item on the rail here, and the
        # offer the rule sent for it.
        expect(card.get_by_test_id("in-stock-flag")).to_be_visible()
        expect(card.get_by_test_id("wishlist")).to_contain_text("Rail 4")
        expect(card.get_by_test_id("redeem")).to_be_visible()

        card.get_by_test_id("claim").click()
        expect(card.get_by_test_id("helped-by")).to_have_text("You are helping")
        theirs = tom.locator(CARDS)
        expect(theirs.get_by_test_id("helped-by")).to_have_text("Being helped by Priya")
        expect(theirs.get_by_test_id("claim")).to_have_count(0)
        save_screenshot(tom, "tablet-floor-claimed")

        theirs.get_by_test_id("redeem").click()
        expect(card.get_by_test_id("offer")).to_contain_text("Offer redeemed")
        expect(theirs.get_by_test_id("offer")).to_contain_text("Offer redeemed")
        expect(card.get_by_test_id("redeem")).to_have_count(0)

        # The hub drops the tablet while it is offline; the shopper leaves meanwhile.
        priya_context.set_offline(True)
        drop_every_connection(hub_socketio)
        expect(priya.get_by_test_id("offline-banner")).to_be_visible()
        door.present.clear()
        deadline = datetime.now(UTC).timestamp() + 20
        while not departed(hub):
            assert datetime.now(UTC).timestamp() < deadline, "the shopper never departed"
            priya.wait_for_timeout(200)
        # Missed live: the card is still on the offline page.
        expect(priya.locator(CARDS)).to_have_count(1)

        priya_context.set_offline(False)
        expect(priya.locator("body")).to_have_attribute("data-connection", "connected")
        expect(priya.locator(CARDS)).to_have_count(0)
        expect(priya.get_by_test_id("empty-state")).to_be_visible()
        expect(priya.locator("body")).to_have_attribute("data-transport", "websocket")
    finally:
        for context in contexts:
            context.close()
        door.close()
