"""The associate's floor page in a real browser against a real hub server."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_socketio import SocketIO
from playwright.sync_api import Browser, Page, ViewportSize, expect

import clienteling_ui
from clienteling_ui import bp as clienteling_bp
from store_hub.adapters.realtime import FloorBroadcaster, register_floor_namespace, rfc3339
from tests.fixtures.browser import LiveServer, save_screenshot
from tests.fixtures.tablet_session import TEST_SECRET, associate_of, session_cookie, sign_in_context

pytestmark = pytest.mark.e2e

STORE = "s042"
TABLET: ViewportSize = {"width": 1280, "height": 800}
CARDS = '[data-testid="shopper-card"]'


def ago(minutes: float) -> str:
    """An RFC 3339 time `minutes` before now."""
    return rfc3339(datetime.now(UTC) - timedelta(minutes=minutes))


def guest(
    visit_id: str, customer_id: str, minutes: float = 1, zone: str | None = "Entrance"
) -> dict[str, Any]:
    """A card just after arrival: the online profile is still on its way."""
    return {
        "visit_id": visit_id,
        "customer_id": customer_id,
        "device_id": f"dev-{customer_id}",
        "arrived_at": ago(minutes),
        "last_seen": ago(0),
        "zone": zone,
        "profile_status": "pending",
        "profile": None,
        "wishlist": [],
        "cart": None,
        "orders": [],
        "offer": None,
    }


def amelia(visit_id: str = "v-1001", minutes: float = 42) -> dict[str, Any]:
    """A loyal shopper with a wishlist, an abandoned cart and an offer on her phone."""
    return {
        **guest(visit_id, "c-20311", minutes, "Womenswear · Knitwear"),
        "profile_status": "ok",
        "profile": {
            "first_name": "Amelia",
            "last_name": "Clarke",
            "email": "amelia.clarke@example.com",
            "loyalty_tier": "gold",
            "lifetime_value": 2340.5,
            "currency": "GBP",
            "sizes": {"top": "M", "dress": "12", "shoes": "39"},
        },
        "wishlist": [
            wish("KN-2231-OAT-M", "Merino roll-neck jumper", "M", "Ivory", 89),
            wish("TR-4410-NAV-12", "Wool-blend wide-leg trousers", "12", "Navy", 120),
            wish("BT-0912-BLK-39", "Leather ankle boots", "39", "Black", 165),
            wish("SC-1180-CAM-OS", "Cashmere scarf", "One size", "Tan", 75),
        ],
        "cart": {
            "items": [
                {
                    "sku": "CT-7781-KHA-12",
                    "name": "Belted trench coat",
                    "size": "12",
                    "colour": "Khaki",
                    "quantity": 1,
                    "unit_price": 229,
                    "currency": "GBP",
                    "image_url": None,
                },
                {
                    "sku": "TS-0021-WHT-M",
                    "name": "Organic cotton T-shirt",
                    "size": "M",
                    "colour": "White",
                    "quantity": 2,
                    "unit_price": 25,
                    "currency": "GBP",
                    "image_url": None,
                },
            ],
            "total": 279,
            "currency": "GBP",
            "updated_at": ago(60 * 26),
        },
        "orders": [
            {
                "order_id": f"o-{n}",
                "placed_at": ago(60 * 24 * 9 * n),
                "total": 95,
                "currency": "GBP",
            }
            for n in range(1, 7)
        ],
        "offer": {
            "code": "KNIT15-7QX2",
            "title": "15% off knitwear today",
            "description": "One use, in store.",
            "expires_at": rfc3339(datetime.now(UTC) + timedelta(hours=3)),
            "status": "sent",
        },
    }


def jonas() -> dict[str, Any]:
    """A shopper whose online store answered only in part."""
    return {
        **guest("v-1002", "c-18874", 12, "Menswear · Denim"),
        "profile_status": "partial",
        "profile": {
            "first_name": "Jonas",
            "last_name": "Weber",
            "email": "jonas.weber@example.com",
            "loyalty_tier": "silver",
            "lifetime_value": 610,
            "currency": "GBP",
            "sizes": {"jeans": "32/32", "top": "L"},
        },
        "wishlist": [wish("JN-5512-IND-3232", "Selvedge straight jeans", "32/32", "Navy", 110)],
        "orders": [
            {"order_id": "o-77", "placed_at": ago(60 * 24 * 40), "total": 64, "currency": "GBP"}
        ],
    }


def wish(sku: str, name: str, size: str, colour: str, price: float) -> dict[str, Any]:
    """A wishlist line in pounds, without a picture (the swatch stands in)."""
    return {
        "sku": sku,
        "name": name,
        "size": size,
        "colour": colour,
        "price": price,
        "currency": "GBP",
        "image_url": None,
    }


class Hub:
    """A Flask app with the tablet blueprint and the floor namespace over an in-memory floor."""

    def __init__(self) -> None:
        self.floor: list[dict[str, Any]] = []
        self.snapshots = 0
        self.app = Flask(__name__)
        self.app.config["STORE_ID"] = STORE
        self.app.secret_key = TEST_SECRET
        self.app.register_blueprint(clienteling_bp, url_prefix="/tablet")
        self.socketio = SocketIO()
        self.socketio.init_app(self.app, async_mode="threading")
        register_floor_namespace(self.socketio, self.snapshot, lambda store: store == STORE)
        self.broadcaster = FloorBroadcaster(self.socketio)

    def snapshot(self, store_id: str) -> list[dict[str, Any]]:
        """The floor as the hub would report it, counting requests."""
        self.snapshots += 1
        return list(self.floor)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Hub, LiveServer]]:
    """One hub for the module, served on a free port."""
    hub = Hub()
    with LiveServer(hub.app) as server:
        yield hub, server


@pytest.fixture
def hub(served: tuple[Hub, LiveServer]) -> Hub:
    """The served hub with an empty floor."""
    served[0].floor.clear()
    return served[0]


@pytest.fixture
def page(browser: Browser, served: tuple[Hub, LiveServer]) -> Iterator[Page]:
    """A fresh tablet-sized page, signed in as an associate of the store."""
    context = browser.new_context(viewport=TABLET, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(5_000)
    sign_in_context(context, served[1].url, served[0].app, associate_of(STORE))
    try:
        yield context.new_page()
    finally:
        context.close()


def signed_in_client(app: Flask) -> Any:
    """A Flask test client with the session cookie of an associate of the store."""
    client = app.test_client()
    client.set_cookie("session", session_cookie(app, associate_of(STORE)))
    return client


def drop_every_connection(socketio: SocketIO) -> None:
    """Close every Engine.IO connection from the server side, as a hub restart would."""
    engine = socketio.server.eio
    # One thread per connection: closing one joins its send queue, and a connection of an
    # earlier test's closed page, not yet timed out, can block that join for good.
    for sid in list(engine.sockets):
        threading.Thread(target=engine.disconnect, args=(sid,), daemon=True).start()


def open_floor(page: Page, served: tuple[Hub, LiveServer], store: str = STORE) -> None:
    """Load the floor page and wait until it is live."""
    page.goto(f"{served[1].url}/tablet/?store={store}")
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")


def test_floor_follows_arrival_update_and_departure_live(
    page: Page, hub: Hub, served: tuple[Hub, LiveServer]
) -> None:
    open_floor(page, served)
    expect(page.get_by_test_id("empty-state")).to_have_text(
        "No opted-in shoppers in the store right now."
    )
    expect(page.get_by_test_id("shopper-count")).to_have_text("No shoppers")
    # The point of the design pitfall list: the page must not silently fall back to polling.
    expect(page.locator("body")).to_have_attribute("data-transport", "websocket")
    save_screenshot(page, "floor-empty")
    page.evaluate("window.sameDocument = true")

    hub.broadcaster.arrived(STORE, guest("v-1", "c-20417", minutes=2.5))

    card = page.locator(f'{CARDS}[data-visit-id="v-1"]')
    expect(card.get_by_test_id("shopper-name")).to_have_text("Guest c-20417")
    expect(card).to_have_class(re.compile(r"\bis-new\b"))
    expect(card).to_contain_text("Loading online profile…")
    expect(card.get_by_test_id("time-in-store")).to_have_text("2 min")
    expect(page.get_by_test_id("empty-state")).to_be_hidden()
    expect(page.get_by_test_id("shopper-count")).to_have_text("1 shopper")

    hub.broadcaster.card_updated(STORE, {**amelia("v-1"), "customer_id": "c-20417"})

    expect(card.get_by_test_id("shopper-name")).to_have_text("Amelia Clarke")
    expect(card.get_by_test_id("tier")).to_have_text("Gold")
    expect(card.get_by_test_id("wishlist")).to_contain_text("Merino roll-neck jumper")
    expect(card.get_by_test_id("wishlist")).to_contain_text("+1 more")
    expect(card.get_by_test_id("cart")).to_contain_text("Belted trench coat")
    expect(card.get_by_test_id("cart-total")).to_have_text("£279.00")
    expect(card.get_by_test_id("offer")).to_contain_text("KNIT15-7QX2")
    expect(card.get_by_test_id("offer")).to_contain_text("15% off knitwear today")
    expect(card.get_by_test_id("orders")).to_contain_text("6 previous orders")
    expect(card).not_to_contain_text("Loading online profile")
    expect(page.locator(CARDS)).to_have_count(1)

    hub.broadcaster.departed(
        STORE, {"visit_id": "v-1", "customer_id": "c-20417", "departed_at": ago(0)}
    )

    expect(page.locator(CARDS)).to_have_count(0)
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True


def test_snapshot_lists_newest_first_with_notes(
    page: Page, hub: Hub, served: tuple[Hub, LiveServer]
) -> None:
    unavailable = {**guest("v-1003", "c-30002", 25), "profile_status": "unavailable"}
    hub.floor.extend([amelia(), jonas(), guest("v-1004", "c-20417", 1), unavailable])

    open_floor(page, served)

    expect(page.locator(CARDS)).to_have_count(4)
    order = page.locator(CARDS).evaluate_all("cards => cards.map(card => card.dataset.visitId)")
    assert order == ["v-1004", "v-1002", "v-1003", "v-1001"]
    expect(page.get_by_test_id("shopper-count")).to_have_text("4 shoppers")
    first = page.locator(f'{CARDS}[data-visit-id="v-1001"]')
    expect(first.get_by_test_id("time-in-store")).to_have_text("42 min")
    expect(first.get_by_test_id("zone")).to_have_text("Womenswear · Knitwear")
    expect(page.locator(f'{CARDS}[data-visit-id="v-1002"]')).to_contain_text(
        "Online profile unavailable"
    )
    expect(page.locator(f'{CARDS}[data-visit-id="v-1003"]')).to_contain_text(
        "Online profile unavailable"
    )
    # Each card is a named list item, so a screen reader announces the shopper.
    expect(page.get_by_role("listitem", name="Jonas Weber")).to_be_visible()


def test_a_card_from_cached_data_says_from_when(
    page: Page, hub: Hub, served: tuple[Hub, LiveServer]
) -> None:
    cached_at = datetime.now(UTC) - timedelta(minutes=7)
    stale = {
        **amelia(),
        "profile_cached_at": rfc3339(cached_at),
        "profile_cache_reason": "store_unavailable",
    }
    hub.floor.append(stale)

    open_floor(page, served)

    note = page.locator(CARDS).get_by_test_id("profile-note")
    # The page runs in Europe/London; the note gives the fetch time as the associate reads it.
    local = page.evaluate(
        "at => new Intl.DateTimeFormat(undefined, {hour: '2-digit', minute: '2-digit'})"
        ".format(Date.parse(at))",
        rfc3339(cached_at),
    )
    expect(note).to_have_text(f"Online profile unavailable, showing cached data from {local}")
    # The cached profile is still shown: an associate can work with it.
    expect(page.locator(CARDS).get_by_test_id("cart")).to_contain_text("Belted trench coat")

    hub.broadcaster.card_updated(STORE, {**stale, "profile_cache_reason": "refreshing"})
    expect(note).to_have_text(f"Showing cached data from {local}, refreshing…")
    hub.broadcaster.card_updated(STORE, amelia())
    expect(note).to_have_count(0)


def test_a_quiet_phone_shows_its_zone_as_where_it_was_last_heard(
    page: Page, hub: Hub, served: tuple[Hub, LiveServer]
) -> None:
    hub.floor.append({**amelia(), "zone": "Fitting rooms", "quiet_since": ago(2.5)})

    open_floor(page, served)

    card = page.locator(CARDS)
    chip = card.locator(".card__zone")
    expect(card.get_by_test_id("zone")).to_have_text("Fitting rooms")
    expect(card.get_by_test_id("zone-quiet")).to_have_text("last heard 2 min ago")
    expect(chip).to_have_class(re.compile(r"\bcard__zone--quiet\b"))
    expect(chip).to_have_text("Fitting rooms last heard 2 min ago")

    # Heard again: the zone is where the shopper is once more.
    hub.broadcaster.card_updated(STORE, {**amelia(), "zone": "Fitting rooms", "quiet_since": None})
    expect(card.get_by_test_id("zone-quiet")).to_have_count(0)
    expect(chip).not_to_have_class(re.compile(r"\bcard__zone--quiet\b"))
    expect(card.get_by_test_id("zone")).to_have_text("Fitting rooms")

    # Quiet again, 58 s ago: the time since counts on without another push.
    hub.broadcaster.card_updated(STORE, {**amelia(), "zone": "Tills", "quiet_since": ago(58 / 60)})
    expect(card.get_by_test_id("zone")).to_have_text("Tills")
    expect(card.get_by_test_id("zone-quiet")).to_have_text("last heard <1 min ago")
    expect(card.get_by_test_id("zone-quiet")).to_have_text("last heard 1 min ago", timeout=15_000)


def test_screenshot_of_a_busy_floor(page: Page, hub: Hub, served: tuple[Hub, LiveServer]) -> None:
    quiet = {**jonas(), "quiet_since": ago(1.5)}  # a locked phone
    hub.floor.extend([amelia(), quiet, guest("v-1004", "c-20417", 1)])

    open_floor(page, served)
    expect(page.locator(CARDS)).to_have_count(3)

    path = save_screenshot(page, "floor")
    page.set_viewport_size({"width": 800, "height": 1280})
    portrait = save_screenshot(page, "floor-portrait")
    assert path.stat().st_size > 10_000
    assert portrait.stat().st_size > 10_000


def test_shopper_data_is_shown_as_text_never_markup(
    page: Page, hub: Hub, served: tuple[Hub, LiveServer]
) -> None:
    open_floor(page, served)
    hostile = amelia("v-x")
    hostile["profile"] = {
        **hostile["profile"],
        "first_name": '<img src=x onerror="window.pwned=1">',
    }
    hostile["wishlist"] = [{**hostile["wishlist"][0], "image_url": "javascript:window.pwned=2"}]

    hub.broadcaster.arrived(STORE, hostile)

    card = page.locator(f'{CARDS}[data-visit-id="v-x"]')
    expect(card.get_by_test_id("shopper-name")).to_contain_text("<img src=x")
    assert card.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None


def test_reconnect_shows_the_banner_and_resyncs(
    page: Page, hub: Hub, served: tuple[Hub, LiveServer]
) -> None:
    open_floor(page, served)
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    # The offline spell lasts about a second, too short to poll for: record it as it happens.
    page.evaluate(
        """() => {
            window.seen = [];
            const banner = document.querySelector('[data-testid="offline-banner"]');
            new MutationObserver(() => window.seen.push(
                [document.body.dataset.connection, banner.hidden ? "" : banner.textContent.trim()]
            )).observe(document.body, {attributes: true, subtree: true});
        }"""
    )
    snapshots_before = hub.snapshots
    # Missed while offline: only a snapshot after reconnecting can show it.
    hub.floor.append(jonas())

    drop_every_connection(served[0].socketio)

    expect(page.locator(f'{CARDS}[data-visit-id="v-1002"]')).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    expect(page.get_by_test_id("offline-banner")).to_be_hidden()
    seen = page.evaluate("window.seen")
    assert ["disconnected", "Reconnecting… the list may be out of date"] in seen
    # One floor from the reconnect itself and one from the page's resync.
    deadline = time.monotonic() + 5
    while hub.snapshots - snapshots_before < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.snapshots - snapshots_before >= 2


def test_another_store_says_why(page: Page, served: tuple[Hub, LiveServer]) -> None:
    page.goto(f"{served[1].url}/tablet/?store=s999")

    expect(page.get_by_test_id("error-banner")).to_have_text(
        "You are signed in for store s042, not s999."
    )
    expect(page.get_by_test_id("connection-status")).to_have_text(re.compile("Not connected"))


def test_missing_vendor_bundle_is_explained_in_the_page(
    page: Page, hub: Hub, served: tuple[Hub, LiveServer]
) -> None:
    page.route("**/vendor/socket.io.esm.min.js", lambda route: route.abort())

    page.goto(f"{served[1].url}/tablet/?store={STORE}")

    expect(page.get_by_test_id("error-banner")).to_have_text(
        "UI assets not built: run scripts/build_ui.sh"
    )


def test_unbuilt_assets_are_reported_by_the_server(
    served: tuple[Hub, LiveServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(clienteling_ui, "VENDOR_DIR", tmp_path)

    response = signed_in_client(served[0].app).get(f"/tablet/?store={STORE}")

    assert response.status_code == 503
    assert "UI assets not built: run scripts/build_ui.sh" in response.get_data(as_text=True)
    assert "floor.js" not in response.get_data(as_text=True)


def test_store_defaults_from_config_and_bad_ids_are_rejected(
    served: tuple[Hub, LiveServer],
) -> None:
    client = signed_in_client(served[0].app)

    default = client.get("/tablet/")
    bad = client.get("/tablet/?store=../etc")

    assert default.status_code == 200
    assert f'data-store-id="{STORE}"' in default.get_data(as_text=True)
    assert "script-src 'self'" in default.headers["Content-Security-Policy"]
    assert bad.status_code == 400
    assert "No valid store selected" in bad.get_data(as_text=True)
