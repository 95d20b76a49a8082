"""Finding a customer the floor did not detect, in the browser, against a real hub and the
reference online store: by name, email and phone, opening the card, jumping to a floor card."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from store_hub.adapters.db.models import CardView, Device, Visit
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.demo.online_store import RunningStore, serve_in_thread
from store_hub.hub import Hub, build_hub
from store_hub.server import HubServer
from tests.fixtures.browser import save_screenshot
from tests.fixtures.mosquitto import free_port
from tests.fixtures.tablet_session import add_test_associate, sign_in_context

pytestmark = pytest.mark.e2e

KEY = "e2e-commerce-key"
TABLET = {"width": 1024, "height": 768}
AXE = Path(__file__).resolve().parents[2] / "clienteling_ui/node_modules/axe-core/axe.js"
# Three Lindqvists online; only Samuel has a phone that lets associates see him.
SAMUEL, ELENA, JONAS, YARA = "c0005", "c0008", "c0012", "c0001"
BULLET = "\u2022"


@pytest.fixture(scope="module")
def store() -> Iterator[RunningStore]:
    running = serve_in_thread(free_port(), api_key=KEY)
    try:
        yield running
    finally:
        running.shutdown()


def device(customer_id: str, now: datetime, *, view: bool = True, revoked: bool = False) -> Device:
    return Device(
        id=f"d-{customer_id}",
        customer_id=customer_id,
        identity_key=b"k" * 16,
        rotation_exponent=10,
        consent_presence=True,
        consent_offers=True,
        consent_associate_view=view,
        created_at=now - timedelta(days=30),
        revoked_at=now - timedelta(days=1) if revoked else None,
    )


@pytest.fixture
def served(tmp_path: Path, store: RunningStore) -> Iterator[tuple[Hub, str, Flask]]:
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        commerce_url=store.url,
        commerce_api_key=KEY,
    )
    hub = build_hub(config)
    now = hub.clock.now()
    yara = store.catalog.customers[YARA]
    with hub.db.transaction() as session:
        session.add_all(
            [
                device(SAMUEL, now),
                device(ELENA, now, view=False),
                device(JONAS, now, revoked=True),
                device(YARA, now),
            ]
        )
        session.flush()
        session.add(
            Visit(
                id="v-yara",
                store_id=config.store_id,
                device_id=f"d-{YARA}",
                customer_id=YARA,
                arrived_at=now - timedelta(minutes=5),
                last_seen=now,
                departed_at=None,
                zone="Knitwear",
                card={
                    "visit_id": "v-yara",
                    "customer_id": YARA,
                    "arrived_at": (now - timedelta(minutes=5)).isoformat(),
                    "zone": "Knitwear",
                    "profile_status": "ok",
                    "profile": {
                        "first_name": yara.first_name,
                        "last_name": yara.last_name,
                        "loyalty_tier": yara.loyalty_tier,
                    },
                    "wishlist": [],
                    "cart": None,
                    "orders": [],
                    "offer": None,
                },
            )
        )
    app = create_app(hub)
    server = HubServer(app, "127.0.0.1", free_port()).start()
    try:
        yield hub, server.url, app
    finally:
        server.stop()
        hub.stop()


@pytest.fixture
def page(browser: Browser, served: tuple[Hub, str, Flask]) -> Iterator[Page]:
    hub, base, app = served
    context = browser.new_context(viewport=TABLET, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(8_000)
    priya = add_test_associate(hub)
    sign_in_context(context, base, app, priya)
    try:
        tablet = context.new_page()
        tablet.goto(f"{base}/tablet/")
        expect(
            tablet.locator('[data-testid="shopper-card"][data-visit-id="v-yara"]')
        ).to_be_visible()
        yield tablet
    finally:
        context.close()


def search(page: Page, text: str) -> None:
    field = page.get_by_role("searchbox", name="Find a customer")
    field.fill(text)


def test_search_by_name_email_and_phone_and_open_the_card(
    page: Page, served: tuple[Hub, str, Flask], store: RunningStore
) -> None:
    hub = served[0]
    samuel = store.catalog.customers[SAMUEL]
    results = page.get_by_test_id("search-result")

    search(page, "L")
    expect(page.get_by_test_id("search-status")).to_have_text("Type at least 2 characters.")
    expect(results).to_have_count(0)

    search(page, "lindqvist")
    expect(results).to_have_count(1)  # Elena (no associate view) and Jonas (revoked) never show
    only = results.first
    expect(only).to_have_attribute("data-customer-id", SAMUEL)
    expect(only.get_by_test_id("result-name")).to_have_text(
        f"{samuel.first_name} {samuel.last_name}"
    )
    expect(only.get_by_test_id("result-contact")).to_have_text(
        f"{samuel.email[0]}{BULLET * 3}@example.com · {BULLET * 4} {samuel.phone[-4:]}"
    )
    expect(only.get_by_test_id("result-tier")).to_have_text(samuel.loyalty_tier)
    expect(only.get_by_test_id("result-presence")).to_have_text("Not detected")

    search(page, samuel.email.upper())
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-customer-id", SAMUEL)
    search(page, "07700 900005")
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-customer-id", SAMUEL)
    search(page, store.catalog.customers[ELENA].email)
    expect(page.get_by_test_id("search-status")).to_have_text("No opted-in customer matches.")

    search(page, samuel.first_name)
    results.filter(has_text=samuel.last_name).click()
    dialog = page.get_by_role("dialog", name=f"{samuel.first_name} {samuel.last_name}")
    expect(dialog).to_be_visible()
    card = dialog.get_by_test_id("shopper-card")
    expect(card).to_have_attribute("data-customer-id", SAMUEL)
    expect(card).to_have_attribute("data-profile-status", "ok")
    expect(card.get_by_test_id("shopper-name")).to_have_text(
        f"{samuel.first_name} {samuel.last_name}"
    )
    expect(card.get_by_test_id("not-in-store")).to_be_visible()
    expect(card.get_by_role("button", name="I'll help")).to_have_count(0)
    expect(card.get_by_test_id("note-text")).to_have_count(0)
    expect(dialog.get_by_test_id("go-to-floor-card")).to_be_hidden()
    save_screenshot(page, "customer-search-card", full_page=False)
    assert axe_violations(page, ".tools__slot--search") == []
    assert axe_violations(page, '[data-testid="customer-dialog"]') == []

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("searchbox", name="Find a customer")).not_to_be_focused()
    with hub.db.transaction() as session:
        views = session.scalars(select(CardView).where(CardView.customer_id == SAMUEL)).all()
        assert [(v.visit_id, v.store_id) for v in views] == [(None, hub.config.store_id)]


def test_a_shopper_in_the_store_is_found_and_the_floor_card_is_one_tap_away(
    page: Page, store: RunningStore
) -> None:
    yara = store.catalog.customers[YARA]
    search(page, yara.phone)
    result = page.get_by_test_id("search-result")
    expect(result).to_have_count(1)
    expect(result.get_by_test_id("result-presence")).to_have_text("In store now")

    page.get_by_role("searchbox", name="Find a customer").press("ArrowDown")
    expect(result).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("customer-dialog")
    jump = dialog.get_by_role("button", name="Go to their card on the floor")
    expect(jump).to_be_focused()
    expect(dialog.get_by_role("button", name="I'll help")).to_have_count(0)  # on the floor card
    jump.click()
    expect(dialog).to_be_hidden()
    floor_card = page.locator('[data-testid="shopper-list"] [data-visit-id="v-yara"]')
    expect(floor_card).to_be_focused()

    # The results stay out of the floor's way until the associate comes back to the field.
    results = page.get_by_test_id("search-results")
    expect(results).to_be_hidden()
    page.get_by_role("searchbox", name="Find a customer").click()
    expect(results).to_be_visible()
    page.keyboard.press("Escape")
    expect(results).to_be_hidden()


def axe_violations(page: Page, selector: str) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[str] = page.evaluate(
        """async (selector) => (await axe.run(
            {include: [[selector]]}, {runOnly: ["wcag2a", "wcag2aa"]},
        )).violations.map(v => `${v.id}: ${v.nodes.map(n => n.target).join(", ")}`)""",
        selector,
    )
    return found
