"""Every tablet page, held either way on a 10-inch tablet and on a phone: axe-core (WCAG 2 A and
AA) finds nothing, nothing scrolls sideways, and primary buttons are big enough for a finger.

One real hub on SQLite serves all of them: a seeded store day (the manager view's numbers),
three shoppers on the floor (one with wishlist, cart and offer), an approved and a quarantined
agent (the IT view), and the demo wallet (before and after joining).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from beacon_agent.protocol import load_status
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Visit
from store_hub.adapters.realtime import rfc3339
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.demo.wallet_api import register_wallet
from store_hub.hub import Hub, build_hub
from tests.e2e.test_floor_page import amelia, guest, jonas
from tests.fixtures.browser import LiveServer, save_screenshot
from tests.fixtures.store_day import seed_store_day
from tests.fixtures.tablet_session import add_test_associate, sign_in_context

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "clienteling_ui/node_modules/axe-core/axe.js"
LONDON = ZoneInfo("Europe/London")
VIEWPORTS: dict[str, ViewportSize] = {
    "tablet-portrait": {"width": 800, "height": 1280},
    "tablet-landscape": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}
# What a finger must be able to hit (WCAG 2.5.5's 44 CSS px, Apple's and Android's guidance).
MIN_TARGET_PX = 44
# The actions a page is for; small inline links and quiet secondary buttons are not counted.
PRIMARY = "button.button--primary, button[type=submit], .button:not(.button--quiet)"


@dataclass(frozen=True)
class Screen:
    """A page to check: where it is, whether it needs an account, and how to tell it is ready."""

    path: str
    signed_in: bool
    ready: str
    # A step after loading that brings the page to the state to check.
    then: Callable[[Page], None] | None = None


def enroll(page: Page) -> None:
    """Join through the wallet's consent form, as a shopper would, until the wallet shows."""
    page.get_by_label("Your customer number").fill(f"c-a11y-{uuid.uuid4().hex[:8]}")
    page.get_by_role("button", name="Agree and join").click()
    expect(page.get_by_test_id("token")).to_have_attribute("data-token", re.compile("^eid:"))


SCREENS = {
    "sign-in": Screen("/tablet/sign-in", False, "form.sign-in__form"),
    "floor": Screen("/tablet/", True, '[data-testid="shopper-card"] >> nth=2'),
    "it-view": Screen("/tablet/it", True, '[data-testid="pending-agent"]'),
    "manager-view": Screen("/tablet/manager", True, "body[data-loaded=true]"),
    "wallet": Screen("/wallet/", False, '[data-testid="consent-form"]'),
    "wallet-enrolled": Screen("/wallet/", False, '[data-testid="consent-form"]', enroll),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, LiveServer]]:
    """A hub with something on every page, served on a free port."""
    tmp = tmp_path_factory.mktemp("a11y")
    db_url = f"sqlite:///{tmp}/hub.db"
    seeding = Database.connect(db_url)
    day = seed_store_day(seeding, LONDON)
    seeding.dispose()
    config = HubConfig().with_overrides(
        store_id="s042",
        database_url=db_url,
        vapid_key_path=str(tmp / "vapid.pem"),
        store_time_zone="Europe/London",
        clock_start=day.now.isoformat(),
    )
    hub = build_hub(config)
    app = create_app(hub)
    register_wallet(app, lambda _key, _exponent: None)
    now = hub.clock.now()
    for minutes, card in ((42, amelia()), (12, jonas()), (1, guest("v-1003", "c-30001"))):
        put_on_floor(hub, card, now - timedelta(minutes=minutes))
    hub.topology.load()
    hub.topology.register_agent("door-1", "entrance", 0.0, None, now)
    online = {"v": 1, "state": "online", "version": "0.3.0", "advertisements_per_s": 41.5}
    hub.presence.handle_status("door-1", load_status(online), now)
    hub.presence.handle_status("shelf-2", load_status(online), now)
    with LiveServer(app) as server:
        yield hub, server
    hub.stop()


def put_on_floor(hub: Hub, card: dict[str, Any], arrived: Any) -> None:
    """A consented shopper's open visit with its card, as the arrival pipeline leaves it."""
    card = {**card, "arrived_at": rfc3339(arrived), "last_seen": rfc3339(hub.clock.now())}
    device_id = card["device_id"]
    with hub.db.transaction() as session:
        session.add(
            Device(
                id=device_id,
                customer_id=card["customer_id"],
                identity_key=device_id.encode().ljust(16, b"k")[:16],
                rotation_exponent=10,
                consent_presence=True,
                consent_offers=True,
                consent_associate_view=True,
                created_at=arrived,
                revoked_at=None,
            )
        )
        session.flush()
        session.add(
            Visit(
                id=card["visit_id"],
                store_id="s042",
                device_id=device_id,
                customer_id=card["customer_id"],
                arrived_at=arrived,
                last_seen=hub.clock.now(),
                departed_at=None,
                zone=card["zone"],
                card=card,
            )
        )


@pytest.fixture(params=list(VIEWPORTS), scope="module")
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def open_screen(browser: Browser, served: tuple[Hub, LiveServer], name: str, size: str) -> Page:
    """The page `name` at viewport `size`, loaded and showing its content."""
    hub, server = served
    screen = SCREENS[name]
    # The pages' Content-Security-Policy allows no inline script; axe comes in as one.
    context = browser.new_context(
        viewport=VIEWPORTS[size],
        locale="en-GB",
        timezone_id="Europe/London",
        bypass_csp=True,
        has_touch=size == "phone",
    )
    context.set_default_timeout(10_000)
    if screen.signed_in:
        email = f"{name}-{size}-{uuid.uuid4().hex[:8]}@store.example"
        manager = add_test_associate(hub, email=email, name="Priya", role="manager")
        sign_in_context(context, server.url, server.app, manager)
    page = context.new_page()
    page.goto(f"{server.url}{screen.path}")
    expect(page.locator(screen.ready)).to_be_visible()
    if screen.then is not None:
        screen.then(page)
    return page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds against WCAG 2 A and AA, each with the nodes it names."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
          const result = await axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] },
            resultTypes: ["violations"],
          });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({ target: n.target.join(" "), why: n.failureSummary })),
          }));
        }"""
    )
    return found


def readable(violations: list[dict[str, Any]]) -> str:
    """Violations one per line, with the elements and axe's reason for each."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:6]:
            why = " ".join(str(node["why"]).split())
            lines.append(f"    {node['target']}: {why}")
    return "\n".join(lines)


def small_targets(page: Page) -> list[str]:
    """Visible primary buttons smaller than MIN_TARGET_PX either way."""
    found: list[str] = page.evaluate(
        """([selector, min]) => [...document.querySelectorAll(selector)]
          .filter((el) => el.getClientRects().length)
          .filter((el) => getComputedStyle(el).visibility !== "hidden")
          .map((el) => [el, el.getBoundingClientRect()])
          .filter(([, r]) => r.width < min || r.height < min)
          .map(([el, r]) => `${el.outerHTML.slice(0, 90)} is `
            + `${Math.round(r.width)}x${Math.round(r.height)}`)""",
        [PRIMARY, MIN_TARGET_PX],
    )
    return found


def overflow(page: Page) -> dict[str, Any]:
    """The page's scroll width against the viewport, and the widest elements if it overflows."""
    found: dict[str, Any] = page.evaluate(
        """() => {
          const width = document.scrollingElement.scrollWidth;
          const wide = [...document.querySelectorAll("body *")]
            .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`);
          return { scrollWidth: width, innerWidth, wide };
        }"""
    )
    return found


@pytest.fixture
def page_at(browser: Browser, served: tuple[Hub, LiveServer], viewport: str) -> Iterator[Any]:
    """Open a screen at this test's viewport; contexts close afterwards."""
    opened: list[Page] = []

    def open_at(name: str) -> Page:
        page = open_screen(browser, served, name, viewport)
        opened.append(page)
        return page

    yield open_at
    for page in opened:
        page.context.close()


@pytest.mark.parametrize("name", list(SCREENS))
def test_axe_finds_no_wcag_a_or_aa_violation(page_at: Any, name: str, viewport: str) -> None:
    page = page_at(name)
    violations = axe_violations(page)
    save_screenshot(page, f"a11y-{name}-{viewport}", full_page=False)
    assert not violations, f"{name} at {viewport}:\n{readable(violations)}"


@pytest.mark.parametrize("name", list(SCREENS))
def test_nothing_scrolls_sideways(page_at: Any, name: str, viewport: str) -> None:
    page = page_at(name)
    found = overflow(page)
    assert found["scrollWidth"] <= found["innerWidth"], json.dumps(found)


@pytest.mark.parametrize("name", list(SCREENS))
def test_primary_buttons_are_finger_sized(page_at: Any, name: str, viewport: str) -> None:
    page = page_at(name)
    assert page.locator(PRIMARY).count() > 0 or name == "manager-view"
    assert not (small := small_targets(page)), f"{name} at {viewport}:\n" + "\n".join(small)
