"""Sorting the floor by zone and VIP arrival alerts, in real browsers against a real hub.

A real hub in this process (SQLite, the reference online store over HTTP, Socket.IO over
WebSocket), not ingesting MQTT: arrivals run through the hub's arrival pipeline and zone changes
through its floor updates, exactly as presence would call them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from store_hub.adapters.db.models import Visit
from store_hub.adapters.realtime import socketio as hub_socketio
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.hub import Hub, build_hub
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.operations.events import VisitEnded, VisitStarted, ZoneChanged
from store_hub.operations.floor import FloorUpdates
from store_hub.server import HubServer
from tests.e2e.test_floor_page import drop_every_connection, guest
from tests.fixtures.browser import save_screenshot
from tests.fixtures.mosquitto import free_port
from tests.fixtures.tablet_session import add_test_associate, sign_in_context

pytestmark = pytest.mark.e2e
STORE = "s042"
CARDS = '[data-testid="shopper-card"]'
GROUPS = '[data-testid="zone-group"]'
AXE = Path(__file__).resolve().parents[2] / "clienteling_ui/node_modules/axe-core/axe.js"
# Customers of the reference online store (seeded): platinum ones are VIPs, c0008 is bronze.
VIP = "c0012"
LATER_VIP = "c0017"
REGULAR = "c0008"
ZONES = [
    ("fit", "Fitting rooms", "fitting_room"),
    ("knit", "Knitwear", "department"),
    ("entrance", "Entrance", "entrance"),
]


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


@dataclass
class Served:
    """The hub, its web app and where it is served."""

    hub: Hub
    app: Flask
    base: str


@pytest.fixture
def served(online_store: str, tmp_path: Path) -> Iterator[Served]:
    """A hub with three zones, served over HTTP."""
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        commerce_url=online_store,
    )
    hub = build_hub(config)
    for zone_id, name, kind in ZONES:
        hub.topology.put_zone(zone_id, name, kind, None, None, hub.clock.now())
    app = create_app(hub)
    server = HubServer(app, "127.0.0.1", free_port()).start()
    try:
        yield Served(hub, app, server.url)
    finally:
        server.stop()
        hub.stop()


def tablet(
    browser: Browser,
    served: Served,
    name: str,
    permissions: list[str] | None = None,
    init_script: str | None = None,
) -> tuple[BrowserContext, Page]:
    """A signed-in associate's tablet showing the floor, live."""
    hub, base = served.hub, served.base
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", timezone_id="Europe/London"
    )
    if permissions:
        context.grant_permissions(permissions)
    context.set_default_timeout(8_000)
    if init_script:
        context.add_init_script(init_script)
    associate = add_test_associate(hub, email=f"{name.lower()}@store.example", name=name)
    sign_in_context(context, base, served.app, associate)
    page = context.new_page()
    page.goto(f"{base}/tablet/")
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    expect(page.get_by_test_id("loading-state")).to_be_hidden()
    return context, page


def enroll(hub: Hub, customer_id: str) -> str:
    """A phone for the customer that lets associates see the card; its device id."""
    with hub.db.transaction() as session:
        device = enroll_device(
            session, customer_id, Consents(True, True, True), 10, datetime.now(UTC)
        )
        session.flush()
        return device.id


def seat(hub: Hub, visit_id: str, zone: tuple[str, str] | None, minutes: float) -> None:
    """A shopper already on the floor (a card stored with the visit, as the snapshot reads it)."""
    customer_id = f"c-{visit_id}"
    device_id = enroll(hub, customer_id)
    card: dict[str, Any] = {
        **guest(visit_id, customer_id, minutes, zone[1] if zone else None),
        "device_id": device_id,
    }
    if zone:
        card["zone_id"] = zone[0]
    arrived = datetime.now(UTC) - timedelta(minutes=minutes)
    with hub.db.transaction() as session:
        session.add(
            Visit(
                id=visit_id,
                store_id=STORE,
                device_id=device_id,
                customer_id=customer_id,
                arrived_at=arrived,
                last_seen=arrived,
                departed_at=None,
                zone=zone[1] if zone else None,
                card=card,
            )
        )


def arrive(hub: Hub, customer_id: str, visit_id: str) -> None:
    """A shopper walks in at the entrance: the hub's arrival pipeline runs (profile, offer)."""
    device_id = enroll(hub, customer_id)
    now = datetime.now(UTC)
    with hub.db.transaction() as session:
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


def move(hub: Hub, visit_id: str, to: tuple[str, str]) -> None:
    """The shopper walked into another zone."""
    with hub.db.transaction() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        device_id, customer_id = visit.device_id, visit.customer_id
    FloorUpdates(hub.db, hub.broadcaster).on_floor_event(
        ZoneChanged(
            STORE, visit_id, device_id, customer_id, datetime.now(UTC), None, to[0], to[1], 0.9
        )
    )


def leave(hub: Hub, visit_id: str) -> None:
    """The shopper left: the visit closes and the tablets hear so."""
    now = datetime.now(UTC)
    with hub.db.transaction() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        visit.departed_at = now
        device_id, customer_id = visit.device_id, visit.customer_id
    hub.arrivals.on_visit_event(VisitEnded(STORE, visit_id, device_id, customer_id, now, now))


def group(page: Page, name: str) -> Any:
    return page.locator(GROUPS).filter(has=page.get_by_role("heading", name=re.compile(name)))


def visits_in(locator: Any) -> list[str]:
    found: list[str] = locator.locator(CARDS).evaluate_all(
        "cards => cards.map(card => card.dataset.visitId)"
    )
    return found


def test_by_zone_groups_cards_and_follows_live_changes(browser: Browser, served: Served) -> None:
    hub = served.hub
    seat(hub, "v-1", ("entrance", "Entrance"), minutes=1)
    seat(hub, "v-2", ("knit", "Knitwear"), minutes=5)
    seat(hub, "v-3", ("knit", "Knitwear"), minutes=2)
    seat(hub, "v-4", None, minutes=10)
    context, page = tablet(browser, served, "Priya")
    try:
        newest = page.get_by_role("radio", name="Newest first")
        by_zone = page.get_by_role("radio", name="By zone")
        expect(newest).to_be_checked()
        expect(page.locator(CARDS)).to_have_count(4)
        assert visits_in(page) == ["v-1", "v-3", "v-2", "v-4"]
        expect(page.locator(GROUPS)).to_have_count(0)

        by_zone.check()

        expect(page.locator(GROUPS)).to_have_count(3)
        expect(page.get_by_test_id("zone-heading")).to_have_text(
            [
                "Entrance 1 shopper",
                "Knitwear 2 shoppers",
                "Zone unknown 1 shopper",
            ]
        )
        assert visits_in(group(page, "Knitwear")) == ["v-3", "v-2"]
        assert visits_in(group(page, "Zone unknown")) == ["v-4"]

        # An associate is typing a note on v-2 when v-2 walks into the fitting rooms.
        note = page.locator(f'{CARDS}[data-visit-id="v-2"] .notes__input')
        note.fill("Asked for the oat jumper in M")
        move(hub, "v-2", ("fit", "Fitting rooms"))

        fitting = group(page, "Fitting rooms")
        expect(fitting.locator(CARDS)).to_have_count(1)
        expect(page.locator(GROUPS)).to_have_count(4)
        # Floor order: entrance, departments, fitting rooms; unplaced shoppers last.
        expect(page.get_by_test_id("zone-heading")).to_have_text(
            [
                "Entrance 1 shopper",
                "Knitwear 1 shopper",
                "Fitting rooms 1 shopper",
                "Zone unknown 1 shopper",
            ]
        )
        moved = fitting.locator(CARDS)
        expect(moved).to_have_attribute("data-visit-id", "v-2")
        expect(moved.get_by_test_id("zone")).to_have_text("Fitting rooms")
        expect(moved).to_have_class(re.compile(r"\bis-new\b"))
        expect(moved.locator(".notes__input")).to_have_value("Asked for the oat jumper in M")
        expect(moved.locator(".notes__input")).to_be_focused()

        # A live arrival goes to the top of its zone; a departure empties Knitwear, which goes.
        arrive(hub, REGULAR, "v-5")
        entrance = group(page, "Entrance")
        expect(entrance.locator(CARDS)).to_have_count(2)
        assert visits_in(entrance) == ["v-5", "v-1"]
        leave(hub, "v-3")
        expect(group(page, "Knitwear")).to_have_count(0)
        expect(page.get_by_test_id("zone-heading")).to_have_text(
            [
                "Entrance 2 shoppers",
                "Fitting rooms 1 shopper",
                "Zone unknown 1 shopper",
            ]
        )
        page.evaluate("window.scrollTo(0, 0)")
        save_screenshot(page, "floor-by-zone", full_page=False)

        # A reconnect rebuilds the floor from the hub's snapshot, grouped the same way: the
        # shopper who left unheard by this tablet (a missed event) is gone, and so is their group.
        page.evaluate("window.sameDocument = true")
        with hub.db.transaction() as session:
            missed = session.get(Visit, "v-4")
            assert missed is not None
            missed.departed_at = datetime.now(UTC)
        expect(page.locator(CARDS)).to_have_count(4)
        drop_every_connection(hub_socketio)
        expect(page.locator(CARDS)).to_have_count(3)
        expect(page.locator("body")).to_have_attribute("data-connection", "connected")
        expect(page.get_by_test_id("zone-heading")).to_have_text(
            ["Entrance 2 shoppers", "Fitting rooms 1 shopper"]
        )
        assert visits_in(page) == ["v-5", "v-1", "v-2"]
        assert page.evaluate("window.sameDocument") is True

        newest.check()
        expect(page.locator(GROUPS)).to_have_count(0)
        assert visits_in(page) == ["v-5", "v-1", "v-2"]
    finally:
        context.close()


def test_the_sort_choice_survives_a_reload(browser: Browser, served: Served) -> None:
    hub = served.hub
    seat(hub, "v-1", ("knit", "Knitwear"), minutes=3)
    seat(hub, "v-2", ("entrance", "Entrance"), minutes=6)
    context, page = tablet(browser, served, "Priya")
    try:
        page.get_by_role("radio", name="By zone").check()
        expect(page.locator(GROUPS)).to_have_count(2)

        page.reload()

        expect(page.locator("body")).to_have_attribute("data-connection", "connected")
        expect(page.get_by_role("radio", name="By zone")).to_be_checked()
        expect(page.locator(GROUPS)).to_have_count(2)
        expect(page.get_by_test_id("zone-heading")).to_have_text(
            ["Entrance 1 shopper", "Knitwear 1 shopper"]
        )
        # The control is a labelled radio group reachable by keyboard: arrows change the order.
        page.get_by_role("radio", name="By zone").focus()
        page.keyboard.press("ArrowLeft")
        expect(page.get_by_role("radio", name="Newest first")).to_be_checked()
        expect(page.locator(GROUPS)).to_have_count(0)
        assert visits_in(page) == ["v-1", "v-2"]
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-connection", "connected")
        expect(page.get_by_role("radio", name="Newest first")).to_be_checked()
        assert axe_violations(page, ".tools") == []
    finally:
        context.close()


def test_ordering_rules_in_the_tablet_module(browser: Browser, served: Served) -> None:
    context, page = tablet(browser, served, "Priya")
    try:
        result = page.evaluate(
            """async () => {
                const order = await import("/tablet/static/floor_order.js");
                const zones = [
                    {zone_id: "entrance", name: "Entrance", kind: "entrance"},
                    {zone_id: "knit", name: "Knitwear", kind: "department"},
                ];
                const at = (m) => new Date(Date.UTC(2026, 10, 24, 10, m)).toISOString();
                const cards = [
                    {visit_id: "a", arrived_at: at(1), zone: "Knitwear"},  // by name only
                    {visit_id: "b", arrived_at: at(5), zone: "Café", zone_id: "cafe"},
                    {visit_id: "c", arrived_at: at(3), zone: null},
                    {visit_id: "d", arrived_at: at(4), zone: "Entrance", zone_id: "entrance"},
                    {visit_id: "e", arrived_at: at(2), zone: "Knitwear", zone_id: "knit"},
                ];
                return {
                    groups: order.groupByZone(cards, zones).map(
                        (g) => `${g.label}:${g.cards.map((c) => c.visit_id).join("")}`),
                    noZones: order.groupByZone(cards, undefined).map((g) => g.label),
                    newest: [...cards].sort(order.newestFirst).map((c) => c.visit_id).join(""),
                    modes: [order.parseSortMode("zone"), order.parseSortMode("bogus"),
                            order.parseSortMode(null)],
                };
            }"""
        )
        assert result == {
            # Known zones in the hub's order, then zones it did not list, then no zone.
            "groups": ["Entrance:d", "Knitwear:ea", "Café:b", "Zone unknown:c"],
            "noZones": ["Café", "Entrance", "Knitwear", "Zone unknown"],
            "newest": "bdcea",
            "modes": ["zone", "newest", "newest"],
        }
    finally:
        context.close()


def test_a_vip_arrival_alerts_every_tablet_and_show_focuses_the_card(
    browser: Browser, served: Served
) -> None:
    hub = served.hub
    seat(hub, "v-1", ("knit", "Knitwear"), minutes=3)
    profile = hub.commerce.fetch_customer(VIP).profile
    assert profile is not None and profile.loyalty_tier == "platinum"
    message = f"VIP · {profile.first_name} {profile.last_name[0]}. just arrived — Entrance"
    priya_context, priya = tablet(browser, served, "Priya")
    tom_context, tom = tablet(browser, served, "Tom")
    try:
        for page in (priya, tom):
            page.get_by_role("radio", name="By zone").check()
        arrive(hub, REGULAR, "v-regular")
        arrive(hub, VIP, "v-vip")

        for page in (priya, tom):
            expect(page.locator(f'{CARDS}[data-visit-id="v-vip"]')).to_be_visible()
            alert = page.get_by_role("alert").filter(has_text="just arrived")
            expect(alert).to_have_count(1)
            expect(alert).to_have_text(message)
            expect(page.get_by_test_id("vip-alert")).to_contain_text("Platinum tier")
        save_screenshot(priya, "floor-vip-alert", full_page=False)
        assert axe_violations(priya, ".vip-alerts") == []

        priya.get_by_test_id("vip-alert").get_by_role("button", name="Show").click()

        card = priya.locator(f'{CARDS}[data-visit-id="v-vip"]')
        expect(card).to_be_focused()
        expect(card).to_be_in_viewport()
        expect(priya.get_by_test_id("vip-alert")).to_have_count(0)
        # Tom's alert is his own to handle.
        expect(tom.get_by_test_id("vip-alert")).to_have_count(1)

        # The shopper leaves before Tom looks: the alert goes with the card.
        leave(hub, "v-vip")
        expect(tom.get_by_test_id("vip-alert")).to_have_count(0)

        arrive(hub, LATER_VIP, "v-later")
        expect(tom.get_by_test_id("vip-alert")).to_have_count(1)
        tom.get_by_test_id("vip-alert").get_by_role("button", name=re.compile("Dismiss")).click()
        expect(tom.get_by_test_id("vip-alert")).to_have_count(0)
        # Exactly one alert per VIP visit reached each tablet; the regular shopper had none.
        expect(priya.get_by_test_id("vip-alert")).to_have_count(1)
        expect(priya.get_by_test_id("vip-alert")).to_have_attribute("data-visit-id", "v-later")
    finally:
        priya_context.close()
        tom_context.close()


# Lets the test hide the page (as switching to another app does) and see the notifications the
# page posts; the browser's own Notification does the work.
HIDDEN_PAGE_WITH_NOTIFICATIONS_SEEN = """
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true,
  get() { return window.pageHidden === true; },
});
window.notificationsPosted = [];
const RealNotification = window.Notification;
window.Notification = new Proxy(RealNotification, {
  construct(target, args) {
    window.notificationsPosted.push({title: args[0], body: args[1] && args[1].body});
    return new target(...args);
  },
  get(target, prop) {
    const value = target[prop];
    return typeof value === "function" ? value.bind(target) : value;
  },
});
"""


def test_a_hidden_tablet_gets_a_system_notification_once_allowed(
    browser: Browser, served: Served
) -> None:
    hub = served.hub
    profile = hub.commerce.fetch_customer(VIP).profile
    assert profile is not None
    name = f"{profile.first_name} {profile.last_name[0]}."
    allowed_context, allowed = tablet(
        browser, served, "Priya", ["notifications"], HIDDEN_PAGE_WITH_NOTIFICATIONS_SEEN
    )
    asking_context, asking = tablet(browser, served, "Tom")
    try:
        # Until the browser has been asked, the top bar offers to; once allowed, it does not.
        expect(asking.get_by_role("button", name="Allow alerts")).to_be_visible()
        expect(allowed.get_by_role("button", name="Allow alerts")).to_be_hidden()
        allowed.evaluate("window.pageHidden = true")

        arrive(hub, VIP, "v-vip")

        expect(asking.get_by_test_id("vip-alert")).to_have_count(1)
        expect(allowed.get_by_test_id("vip-alert")).to_have_count(1)
        posted = allowed.evaluate("window.notificationsPosted")
        assert posted == [{"title": f"VIP · {name}", "body": f"{name} just arrived — Entrance"}]
        # A page in view shows the alert alone.
        assert asking.evaluate("'notificationsPosted' in window") is False
    finally:
        allowed_context.close()
        asking_context.close()


def axe_violations(page: Page, selector: str) -> list[str]:
    """axe-core's WCAG 2 A/AA violations inside `selector`."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[str] = page.evaluate(
        """async (selector) => (await axe.run(
            {include: [[selector]]}, {runOnly: ["wcag2a", "wcag2aa"]},
        )).violations.map(v => `${v.id}: ${v.nodes.map(n => n.target).join(", ")}`)""",
        selector,
    )
    return found
