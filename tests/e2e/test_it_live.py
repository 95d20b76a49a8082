"""The IT view live over Socket.IO, in a real browser against a real hub on SQLite.

The hub is not ingesting: the test hands statuses and reports to the presence service exactly
as the ingest worker does after reading them off MQTT.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import update

from beacon_agent.protocol import SightingsReport, load_status
from store_hub.adapters.db.models import Agent
from store_hub.adapters.realtime import socketio as hub_socketio
from store_hub.hub import Hub
from tests.e2e.test_floor_page import drop_every_connection
from tests.fixtures.browser import save_screenshot
from tests.fixtures.tablet_session import TEST_PASSWORD, add_test_associate

pytestmark = pytest.mark.e2e
ROWS = '[data-testid="agent-row"]'


@pytest.fixture
def it_context(browser: Browser, floor_hub: tuple[Hub, str]) -> Iterator[BrowserContext]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", timezone_id="Europe/London"
    )
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


def open_it_view(context: BrowserContext, hub: Hub, base: str) -> Page:
    """Sign an IT account in through the form on the way to /tablet/it, and wait until live."""
    add_test_associate(hub, email="ines@store.example", name="Ines", role="it")
    page = context.new_page()
    page.goto(f"{base}/tablet/it")
    page.get_by_label("Email").fill("ines@store.example")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/tablet/it")
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    expect(page.locator("body")).to_have_attribute("data-transport", "websocket")
    return page


def status(**telemetry: Any) -> dict[str, Any]:
    """An online status with telemetry, as the ingest hands it on."""
    return load_status({"v": 1, "state": "online", "version": "0.3.0", **telemetry})


def test_it_view_shows_quarantine_approval_telemetry_and_reports_live(
    it_context: BrowserContext, floor_hub: tuple[Hub, str]
) -> None:
    hub, base = floor_hub
    page = open_it_view(it_context, hub, base)
    expect(page.get_by_test_id("agents-empty")).to_be_visible()
    expect(page.get_by_test_id("pending-empty")).to_be_visible()

    # IT adds a zone through the API meanwhile: the view redraws with it, no reload.
    hub.topology.put_zone("entrance", "Entrance", "entrance", None, None, hub.clock.now())
    expect(page.get_by_test_id("zone")).to_have_text(["Entrance (entrance)"])

    # An agent nobody registered starts talking: it waits for approval, live.
    hub.presence.handle_status("door-1", status(advertisements_per_s=40.0), datetime.now(UTC))
    pending = page.get_by_test_id("pending-agent")
    expect(pending).to_have_attribute("data-agent-id", "door-1")
    expect(pending.get_by_test_id("first-heard")).to_contain_text("first heard")

    pending.get_by_label("Zone").select_option("entrance")
    # Half a position is refused on the tablet, before anything is sent.
    pending.get_by_label("x (m)").fill("3.5")
    pending.get_by_role("button", name="Approve and assign zone").click()
    expect(page.get_by_test_id("error-banner")).to_contain_text("Give both x and y for door-1")
    expect(pending).to_be_visible()
    pending.get_by_label("y (m)").fill("1.5")
    pending.get_by_role("button", name="Approve and assign zone").click()
    row = page.locator(f'{ROWS}[data-agent-id="door-1"]')
    expect(row).to_have_attribute("data-health", "healthy")
    expect(row).to_contain_text("Entrance")
    # Placed on approval: the hub now tracks positions with it (and told it to send levels).
    expect(row.get_by_test_id("position")).to_have_text("x 3.5 m, y 1.5 m")
    assert hub.topology.floor_positions()["door-1"] == (3.5, 1.5)
    expect(page.get_by_test_id("pending-empty")).to_be_visible()

    # A report is counted on the ingest's tick; "last report" then counts up on the tablet.
    now = datetime.now(UTC)
    hub.presence.handle_report(SightingsReport("s042", "door-1", "b1", 0, now, ()), now)
    hub.presence.tick(now)
    last_report = row.locator("td").nth(2)
    expect(last_report).to_have_text(re.compile(r"^[0-2] s ago$"))
    expect(last_report).to_have_text(re.compile(r"^[3-9] s ago$"))

    hub.presence.handle_status(
        "door-1", status(advertisements_per_s=12.5, spool_depth=7, scanner_restarts=2), now
    )
    expect(row.get_by_test_id("spool")).to_have_text("7")
    expect(row.get_by_test_id("adverts")).to_have_text("12.5")
    expect(row.get_by_test_id("restarts")).to_have_text("2")

    # IT measures where the device is: the row shows it, live.
    hub.topology.register_agent("door-1", "entrance", 0.0, None, now, position=(12.0, 4.5))
    expect(row.get_by_test_id("position")).to_have_text("x 12.0 m, y 4.5 m")
    expect(row.get_by_test_id("receiver")).to_have_count(0)  # not measured yet

    # The tracker measured its receiver against the others' (the ingest's tick writes it).
    measured(hub, "door-1", 7.24)
    receiver = row.get_by_test_id("receiver")
    expect(receiver).to_have_text("hears +7.2 dB vs other agents")
    expect(receiver).to_have_attribute("data-far", "")
    measured(hub, "door-1", -1.5)
    expect(receiver).to_have_text("hears -1.5 dB vs other agents")
    expect(receiver).not_to_have_attribute("data-far", "")
    measured(hub, "door-1", -0.02)
    expect(receiver).to_have_text("hears 0.0 dB vs other agents")
    save_screenshot(page, "it-view-live")


def measured(hub: Hub, agent_id: str, db: float) -> None:
    """As the ingest's tick does with a new receiver measurement: write it, tell the IT feed."""
    with hub.db.transaction() as session:
        session.execute(
            update(Agent)
            .where(Agent.store_id == "s042", Agent.agent_id == agent_id)
            .values(measured_offset_db=db)
        )
    assert hub.it_feed is not None
    hub.it_feed.agents_changed([agent_id])


def test_it_view_says_it_is_offline_and_catches_up_on_reconnect(
    it_context: BrowserContext, floor_hub: tuple[Hub, str]
) -> None:
    hub, base = floor_hub
    now = datetime.now(UTC)
    hub.topology.put_zone("entrance", "Entrance", "entrance", None, None, now)
    hub.topology.register_agent("door-1", "entrance", 0.0, None, now)
    hub.presence.handle_status("door-1", status(), now)
    page = open_it_view(it_context, hub, base)
    row = page.locator(f'{ROWS}[data-agent-id="door-1"]')
    expect(row).to_have_attribute("data-health", "healthy")

    it_context.set_offline(True)
    drop_every_connection(hub_socketio)
    expect(page.get_by_test_id("offline-banner")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("Offline")
    # Missed while offline: the agent's last will, and a new agent heard for the first time.
    hub.presence.handle_status("door-1", load_status({"v": 1, "state": "offline"}), now)
    hub.presence.handle_status("till-1", status(), now)
    expect(row).to_have_attribute("data-health", "healthy")

    it_context.set_offline(False)
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    expect(page.get_by_test_id("offline-banner")).to_be_hidden()
    expect(row).to_have_attribute("data-health", "offline")
    expect(page.get_by_test_id("pending-agent")).to_have_attribute("data-agent-id", "till-1")
    expect(page.locator("body")).to_have_attribute("data-transport", "websocket")
