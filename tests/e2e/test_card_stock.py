"""Stock here and segment badges on the tablet card, from real stock rows to the browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from store_hub.adapters.db.engine import Database
from store_hub.operations.stock import StockRow, annotate_card, upsert_stock
from tests.e2e.test_floor_page import CARDS, STORE, TABLET, Hub, amelia, guest
from tests.fixtures.browser import LiveServer, save_screenshot
from tests.fixtures.tablet_session import associate_of, sign_in_context

pytestmark = pytest.mark.e2e
X = "\N{MULTIPLICATION SIGN}"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Hub, LiveServer]]:
    hub = Hub()
    with LiveServer(hub.app) as server:
        yield hub, server


@pytest.fixture
def page(browser: Browser, served: tuple[Hub, LiveServer]) -> Iterator[Page]:
    context = browser.new_context(viewport=TABLET, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(5_000)
    sign_in_context(context, served[1].url, served[0].app, associate_of(STORE))
    try:
        yield context.new_page()
    finally:
        context.close()


def annotated_amelia(tmp_path: Path) -> dict[str, Any]:
    """Amelia's card as the hub fills it in: her wishlist and cart against this store's stock."""
    db = Database.connect(f"sqlite:///{tmp_path}/hub.db")
    now = datetime.now(UTC)
    rows = [
        StockRow("KN-2231-OAT-S", 0, "Womenswear, rail 4", "S"),
        StockRow("KN-2231-OAT-M", 2, "Womenswear, rail 4", "M"),
        StockRow("KN-2231-OAT-L", 0, "Womenswear, rail 4", "L"),
        StockRow("TR-4410-NAV-12", 0, None, "12"),
        StockRow("CT-7781-KHA-12", 1, "Outerwear, rail 2", "12"),
    ]
    try:
        with db.transaction() as session:
            upsert_stock(session, STORE, rows, now)
        online = amelia("v-stock")
        online["profile"]["loyalty_tier"] = "platinum"
        with db.transaction() as session:
            card = annotate_card(session, STORE, online, now)
    finally:
        db.dispose()
    return card


def test_the_card_shows_stock_here_per_item_and_flags_it(
    page: Page, served: tuple[Hub, LiveServer], tmp_path: Path
) -> None:
    hub, server = served
    card = annotated_amelia(tmp_path)
    assert card["in_stock_here_count"] == 2
    # Platinum, and six online orders in the last two months.
    assert card["segments"] == ["vip", "frequent"]
    hub.floor[:] = [card]
    page.goto(f"{server.url}/tablet/?store={STORE}")
    shopper = page.locator(f'{CARDS}[data-visit-id="v-stock"]')

    wishlist = shopper.get_by_test_id("wishlist").get_by_test_id("stock-here")
    expect(wishlist).to_have_count(3)  # three items listed, the fourth behind "+1 more"
    expect(wishlist.nth(0)).to_have_text(
        f"In stock here: S {X}0 · M {X}2 · L {X}0 — Womenswear, rail 4"
    )
    expect(wishlist.nth(0)).to_have_class(re.compile(r"\bstock--yes\b"))
    expect(wishlist.nth(1)).to_have_text("Not in stock here")
    expect(wishlist.nth(2)).to_have_text("Not in stock here")
    cart = shopper.get_by_test_id("cart").get_by_test_id("stock-here")
    expect(cart.nth(0)).to_have_text(f"In stock here: 12 {X}1 — Outerwear, rail 2")
    expect(cart.nth(1)).to_have_text("Not in stock here")
    expect(shopper.get_by_test_id("in-stock-flag")).to_have_text("2 wanted items in stock here")

    badges = shopper.get_by_test_id("segment")
    expect(badges).to_have_text(["VIP", "Frequent"])
    expect(badges.nth(0)).to_have_attribute("data-segment", "vip")
    save_screenshot(page, "card-stock-and-segments")


def test_a_card_without_stock_data_shows_no_stock_line_nor_flag(
    page: Page, served: tuple[Hub, LiveServer]
) -> None:
    hub, server = served
    # A card from before the hub knew stock (or whose stock lookup failed), and a guest.
    hub.floor[:] = [amelia("v-old"), guest("v-guest", "c-1")]
    page.goto(f"{server.url}/tablet/?store={STORE}")
    expect(page.locator(CARDS)).to_have_count(2)
    expect(page.get_by_test_id("stock-here")).to_have_count(0)
    expect(page.get_by_test_id("in-stock-flag")).to_have_count(0)
    expect(page.get_by_test_id("segment")).to_have_count(0)

    # The card fills in live: the stock line and flag appear without a reload.
    sold_out = {
        **amelia("v-old"),
        "in_stock_here_count": 0,
        "segments": ["lapsing"],
    }
    sold_out["wishlist"] = [
        {**item, "stock_here": {"available": 0, "sizes": {}, "location": None}}
        for item in sold_out["wishlist"]
    ]
    hub.broadcaster.card_updated(STORE, sold_out)
    card = page.locator(f'{CARDS}[data-visit-id="v-old"]')
    expect(card.get_by_test_id("stock-here")).to_have_count(3)
    expect(card.get_by_test_id("stock-here").first).to_have_text("Not in stock here")
    expect(card.get_by_test_id("in-stock-flag")).to_have_count(0)
    expect(card.get_by_test_id("segment")).to_have_text(["Lapsing"])
