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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Offer, OfferDecision, Visit
from store_hub.operations.enrollment import Consents, enroll_device
from tests.fixtures.mosquitto import Broker, free_port, wait_for_port

pytestmark = pytest.mark.e2e
DATA = Path(__file__).resolve().parent.parent / "data"
STORE = "s042"


@pytest.fixture
def online_store() -> Iterator[str]:
    from store_hub.demo.online_store import serve_in_thread

    port = free_port()
    server = serve_in_thread(port=port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def seed_shipped_device(db_url: str) -> tuple[str, str]:
    shipped = json.loads((DATA / "walkin.devices.json").read_text())["devices"][0]
    db = Database.connect(db_url)
    try:
        with db.transaction() as session:
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


@pytest.fixture
def hub_process(tmp_path: Path, mosquitto: Broker, online_store: str) -> Iterator[dict[str, Any]]:
    port = free_port()
    db_url = f"sqlite:///{tmp_path}/hub.db"
    device_id, customer_id = seed_shipped_device(db_url)
    env = {
        **os.environ,
        "STORE_HUB_STORE_ID": STORE,
        "STORE_HUB_DATABASE_URL": db_url,
        "STORE_HUB_BROKER_URL": mosquitto.url,
        "STORE_HUB_COMMERCE_URL": online_store,
        "STORE_HUB_ENROLL_API_KEY": "test-enroll-key",
        "STORE_HUB_IT_API_KEY": "test-it-key",
        "STORE_HUB_VAPID_KEY_PATH": str(tmp_path / "vapid.pem"),
        "STORE_HUB_HTTP_PORT": str(port),
        "STORE_HUB_AWAY_TIMEOUT_S": "6",
        # The shipped trace's EIDs are valid around the time it was recorded.
        "STORE_HUB_CLOCK_START": "2026-11-24T10:00:00Z",
    }
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
    client.connect(base, namespaces=["/floor"], auth={"store_id": STORE}, transports=["websocket"])
    return client, events


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
    page.goto(f"{base}/tablet/?store={STORE}")
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    expect(page.locator("body")).to_have_attribute("data-transport", "websocket")
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    page.evaluate("window.sameDocument = true")

    client, events = tablet(base)
    try:
        assert next_event(events, "floor", 5)["shoppers"] == []
        assert client.transport() == "websocket"

        agent_config = tmp_path / "agent.toml"
        agent_config.write_text(
            f'store_id = "{STORE}"\nagent_id = "door-1"\nbroker_url = "{mosquitto.url}"\n'
            f'away_timeout_s = 5\nspool_path = "{tmp_path}/spool.db"\n'
            f'state_path = "{tmp_path}/agent-state.json"\n'
        )
        replay = subprocess.run(
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
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert replay.returncode == 0, replay.stderr

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
        offer = filled["offer"]
        assert offer is not None and offer["status"] == "issued"

        delivered = next_event(events, "card_updated", 10)
        assert delivered["offer"]["code"] == offer["code"]
        assert delivered["offer"]["status"] == "delivered"

        card = page.locator(f'[data-testid="shopper-card"][data-visit-id="{arrived["visit_id"]}"]')
        name = f"{filled['profile']['first_name']} {filled['profile']['last_name']}"
        expect(card.get_by_test_id("shopper-name")).to_have_text(name)
        expect(card.get_by_test_id("offer")).to_contain_text(offer["code"])
        expect(card.get_by_test_id("cart")).to_contain_text(filled["cart"]["items"][0]["name"])

        pushed = push_service.wait_for(1, timeout=10)[0]
        assert pushed.payload["code"] == offer["code"]
        assert pushed.payload["title"] == offer["title"]
        assert 0 < int(pushed.headers["TTL"]) <= 120 * 60

        departed = next_event(events, "departed", 20)
        assert departed["visit_id"] == arrived["visit_id"]
        expect(card).to_have_count(0)
        expect(page.get_by_test_id("empty-state")).to_be_visible()
        # Live from arrival to departure: the page was never reloaded.
        assert page.evaluate("window.sameDocument") is True
    finally:
        client.disconnect()
        context.close()

    db = Database.connect(hub_process["db_url"], migrate=False)
    try:
        with db.transaction() as session:
            offers = session.scalars(select(Offer)).all()
            assert [(o.code, o.status, o.customer_id) for o in offers] == [
                (offer["code"], "delivered", "c0001")
            ]
            decisions = session.scalars(select(OfferDecision)).all()
            assert [(d.outcome, d.offer_id) for d in decisions] == [("sent", offers[0].id)]
            visit = session.scalars(select(Visit)).one()
            assert visit.departed_at is not None
    finally:
        db.dispose()
    health = requests.get(f"{base}/healthz", timeout=5).json()
    assert health["ingest"].get("rejected", 0) == 0
    assert health["presence"]["arrivals"] == 1
