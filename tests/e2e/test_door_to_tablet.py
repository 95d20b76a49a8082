"""One shopper from the door to the tablet, real at every hop.

A real mosquitto, the reference online store over HTTP, a real hub process, a local push
service that decrypts what it receives, a Socket.IO client and headless Chromium as tablets,
and the agent replaying the shipped trace as its own process.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from store_hub.adapters.commerce import ReferenceStoreConnector
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import InventoryItem, Offer, OfferDecision, Redemption, Visit
from store_hub.domain.offer_qr import verify_offer_qr
from store_hub.operations.enrollment import Consents, enroll_device
from tests.fixtures.mosquitto import Broker, free_port, wait_for_port

pytestmark = pytest.mark.e2e
DATA = Path(__file__).resolve().parent.parent / "data"
STORE = "s042"
POS = {"Authorization": "Bearer test-pos-key"}
# The offer under test: 15 % off a wishlist item this store has on the shelf.
RULES = """
version: 1
default_locale: en
courtesy: {per_customer_per_visit: 1, per_customer_per_day: 2, cooldown_minutes: 30}
rules:
  - id: wishlist-here-15
    trigger: wishlist_in_stock_here
    offer:
      percent_off: 15
      scope: item
      validity_minutes: 120
      message:
        en: {title: '{percent}% off {item_name}', body: 'It is here, on the shelf: {percent}% off.'}
"""


@pytest.fixture
def online_store() -> Iterator[str]:
    from store_hub.demo.online_store import serve_in_thread

    port = free_port()
    server = serve_in_thread(port=port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def seed_shipped_device(db_url: str, in_stock_sku: str) -> tuple[str, str]:
    shipped = json.loads((DATA / "walkin.devices.json").read_text())["devices"][0]
    db = Database.connect(db_url)
    try:
        with db.transaction() as session:
            session.add(
                InventoryItem(
                    store_id=STORE,
                    sku=in_stock_sku,
                    product_code=in_stock_sku,
                    on_hand=2,
                    location="Rail 4",
                    size=None,
                    colour=None,
                    updated_at=datetime.now(UTC),
                )
            )
            device = enroll_device(
                session,
                shipped["customer_id"],
                Consents(presence=True, offers=True, associate_view=True),
                shipped["rotation_exponent"],
                now=datetime.now(UTC),
                identity_key=bytes.fromhex(shipped["identity_key"]),
            )
            return device.id, device.customer_id
    finally:
        db.dispose()


ASSOCIATE_EMAIL = "priya@store.example"
ASSOCIATE_PASSWORD = "correct horse battery staple"


@pytest.fixture
def hub_process(tmp_path: Path, mosquitto: Broker, online_store: str) -> Iterator[dict[str, Any]]:
    port = free_port()
    db_url = f"sqlite:///{tmp_path}/hub.db"
    wishlist = ReferenceStoreConnector(online_store, "demo-commerce-key").fetch_customer("c0001")
    in_stock_sku = wishlist.wishlist[-1].sku
    device_id, customer_id = seed_shipped_device(db_url, in_stock_sku)
    rules = tmp_path / "offer_rules.yaml"
    rules.write_text(RULES)
    env = {
        **os.environ,
        "STORE_HUB_STORE_ID": STORE,
        "STORE_HUB_DATABASE_URL": db_url,
        "STORE_HUB_BROKER_URL": mosquitto.url,
        "STORE_HUB_COMMERCE_URL": online_store,
        "STORE_HUB_ENROLL_API_KEY": "test-enroll-key",
        "STORE_HUB_IT_API_KEY": "test-it-key",
        "STORE_HUB_POS_API_KEY": "test-pos-key",
        "STORE_HUB_OFFER_RULES_PATH": str(rules),
        "STORE_HUB_VAPID_KEY_PATH": str(tmp_path / "vapid.pem"),
        "STORE_HUB_HTTP_PORT": str(port),
        "STORE_HUB_AWAY_TIMEOUT_S": "6",
        # The shipped trace's EIDs are valid around the time it was recorded.
        "STORE_HUB_CLOCK_START": "2026-11-24T10:00:00Z",
    }
    # An associate account, made the way a store's IT makes one: with the CLI.
    password_file = tmp_path / "password.txt"
    password_file.write_text(ASSOCIATE_PASSWORD + "\n")
    added = subprocess.run(
        [sys.executable, "-m", "store_hub", "associates", "add", "--email", ASSOCIATE_EMAIL,
         "--name", "Priya", "--role", "associate", "--password-file", str(password_file)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added associate Priya to store s042" in added.stdout
    log = (tmp_path / "hub.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "store_hub", "run"], env=env, stdout=log, stderr=log
    )
    try:
        wait_for_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while not requests.get(f"{base}/healthz", timeout=2).json()["broker_connected"]:
            assert time.monotonic() < deadline, "hub never connected to the broker"
            time.sleep(0.1)
        yield {
            "base": base,
            "db_url": db_url,
            "device_id": device_id,
            "customer_id": customer_id,
            "in_stock_sku": in_stock_sku,
            "log": tmp_path / "hub.log",
        }
    finally:
        process.terminate()
        process.wait(timeout=15)


def tablet(base: str) -> tuple[socketio.Client, queue.Queue[tuple[str, Any]]]:
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    client = socketio.Client()
    for name in ("floor", "arrived", "card_updated", "departed"):
        client.on(name, lambda data, name=name: events.put((name, data)), namespace="/floor")
    signed_in = requests.post(
        f"{base}/tablet/session",
        data={"email": ASSOCIATE_EMAIL, "password": ASSOCIATE_PASSWORD},
        allow_redirects=False,
        timeout=5,
    )
    assert signed_in.status_code == 303, signed_in.text
    client.connect(
        base,
        headers={"Cookie": f"session={signed_in.cookies['session']}"},
        namespaces=["/floor"],
        auth={"store_id": STORE},
        transports=["websocket"],
    )
    return client, events


def sign_in(page: Page, base: str) -> None:
    """Open the floor, get sent to the sign-in page, and sign in there."""
    page.goto(f"{base}/tablet/?store={STORE}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(ASSOCIATE_EMAIL)
    page.get_by_label("Password").fill(ASSOCIATE_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Priya")


def next_event(events: queue.Queue[tuple[str, Any]], wanted: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        name, data = events.get(timeout=max(0.01, deadline - time.monotonic()))
        if name == wanted:
            return data


def test_replayed_trace_reaches_tablet_database_and_phone(
    hub_process: dict[str, Any],
    mosquitto: Broker,
    push_service: Any,
    browser: Browser,
    tmp_path: Path,
) -> None:
    base = hub_process["base"]
    subscription = push_service.new_subscription()
    response = requests.put(
        f"{base}/api/v1/devices/{hub_process['device_id']}/push",
        json=subscription,
        headers={"Authorization": "Bearer test-enroll-key"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    # IT registers the door agent and its zone; an unregistered agent's reports would be
    # quarantined and never reach the tablet.
    it = {"Authorization": "Bearer test-it-key"}
    stores = f"{base}/api/v1/stores/{STORE}"
    zone = {"name": "Entrance", "kind": "entrance"}
    assert requests.put(f"{stores}/zones/entrance", json=zone, headers=it, timeout=5).ok
    agent = {"zone_id": "entrance"}
    assert requests.put(f"{stores}/agents/door-1", json=agent, headers=it, timeout=5).ok

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, base)
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    expect(page.locator("body")).to_have_attribute("data-transport", "websocket")
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    page.evaluate("window.sameDocument = true")

    client, events = tablet(base)
    replay: subprocess.Popen[str] | None = None
    try:
        assert next_event(events, "floor", 5)["shoppers"] == []
        assert client.transport() == "websocket"

        agent_config = tmp_path / "agent.toml"
        agent_config.write_text(
            f'store_id = "{STORE}"\nagent_id = "door-1"\nbroker_url = "{mosquitto.url}"\n'
            f'away_timeout_s = 5\nspool_path = "{tmp_path}/spool.db"\n'
            f'state_path = "{tmp_path}/agent-state.json"\n'
        )
        replay = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "beacon_agent",
                "replay",
                str(DATA / "walkin.trace.jsonl"),
                "--config",
                str(agent_config),
                "--speed",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The walk runs while the test acts: the till must redeem while the shopper is inside.

        arrived = next_event(events, "arrived", 10)
        assert arrived["customer_id"] == "c0001"
        assert arrived["zone"] == "Entrance"
        # The tablet hears of the shopper before the online store has answered.
        assert arrived["profile_status"] == "pending"
        assert arrived["offer"] is None

        filled = next_event(events, "card_updated", 10)
        assert filled["visit_id"] == arrived["visit_id"]
        assert filled["profile_status"] == "ok"
        assert filled["profile"]["first_name"]
        assert filled["wishlist"], "c0001 has a wishlist in the reference store"
        assert filled["cart"]["items"], "c0001 has an abandoned cart in the reference store"
        in_stock = [i for i in filled["wishlist"] if i["sku"] == hub_process["in_stock_sku"]]
        assert in_stock and in_stock[0]["stock_here"]["available"] == 2
        offer = filled["offer"]
        assert offer is not None and offer["status"] == "issued"
        assert offer["title"] == f"15% off {in_stock[0]['name']}"

        delivered = next_event(events, "card_updated", 10)
        assert delivered["offer"]["code"] == offer["code"]
        assert delivered["offer"]["status"] == "delivered"

        # The phone got the code and a QR token the till verifies offline with the served key.
        pushed = push_service.wait_for(1, timeout=10)[0]
        assert pushed.payload["code"] == offer["code"]
        assert pushed.payload["title"] == offer["title"]
        assert 0 < int(pushed.headers["TTL"]) <= 120 * 60
        assert pushed.headers["Topic"] == "offer-wishlist-here-15"
        served = requests.get(f"{base}/api/v1/offers/verify-key", headers=POS, timeout=5).json()
        till_key = load_pem_public_key(served["public_key_pem"].encode())
        claims = verify_offer_qr(
            pushed.payload["qr"],
            [till_key],  # type: ignore[list-item]
            store_id=STORE,
            now=datetime.fromisoformat(offer["expires_at"]) - timedelta(minutes=1),
            customer_id="c0001",
        )
        assert claims.code == offer["code"]

        # The till redeems it; the associate's tablet shows that at once.
        redeemed = requests.post(
            f"{base}/api/v1/redemptions",
            json={"code": claims.code, "store_id": STORE, "order_ref": "R-1001"},
            headers={**POS, "Idempotency-Key": "till-1-R-1001"},
            timeout=5,
        )
        assert redeemed.status_code == 201, redeemed.text
        shown = next_event(events, "card_updated", 5)
        assert shown["visit_id"] == arrived["visit_id"]
        assert shown["offer"]["code"] == offer["code"]
        assert shown["offer"]["status"] == "redeemed"

        card = page.locator(f'[data-testid="shopper-card"][data-visit-id="{arrived["visit_id"]}"]')
        name = f"{filled['profile']['first_name']} {filled['profile']['last_name']}"
        expect(card.get_by_test_id("shopper-name")).to_have_text(name)
        expect(card.get_by_test_id("offer")).to_contain_text(offer["code"])
        expect(card.get_by_test_id("cart")).to_contain_text(filled["cart"]["items"][0]["name"])

        _out, errors = replay.communicate(timeout=60)
        assert replay.returncode == 0, errors
        departed = next_event(events, "departed", 20)
        assert departed["visit_id"] == arrived["visit_id"]
        expect(card).to_have_count(0)
        expect(page.get_by_test_id("empty-state")).to_be_visible()
        # Live from arrival to departure: the page was never reloaded.
        assert page.evaluate("window.sameDocument") is True
    finally:
        if replay is not None and replay.poll() is None:
            replay.kill()
            replay.communicate()
        client.disconnect()
        context.close()

    db = Database.connect(hub_process["db_url"], migrate=False)
    try:
        with db.transaction() as session:
            offers = session.scalars(select(Offer)).all()
            assert [(o.code, o.status, o.customer_id, o.sku) for o in offers] == [
                (offer["code"], "redeemed", "c0001", hub_process["in_stock_sku"])
            ]
            decisions = session.scalars(select(OfferDecision)).all()
            assert [(d.outcome, d.reason, d.offer_id) for d in decisions] == [
                ("send", "sent", offers[0].id)
            ]
            assert [r.order_ref for r in session.scalars(select(Redemption))] == ["R-1001"]
            visit = session.scalars(select(Visit)).one()
            assert visit.departed_at is not None
    finally:
        db.dispose()
    health = requests.get(f"{base}/healthz", timeout=5).json()
    assert health["ingest"].get("rejected", 0) == 0
    assert health["presence"]["arrivals"] == 1
