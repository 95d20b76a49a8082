"""The card's flags, purchase history and hidden parts in a real browser, and look-up cards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from store_hub.adapters.db.models import Device
from store_hub.adapters.realtime import rfc3339
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.demo.wallet_api import register_wallet
from store_hub.domain.card_privacy import CardSharing, private_card
from store_hub.hub import build_hub
from tests.e2e.test_floor_page import CARDS, STORE, TABLET, Hub, amelia, jonas
from tests.fixtures.browser import LiveServer, save_screenshot
from tests.fixtures.tablet_session import associate_of, sign_in_context

pytestmark = pytest.mark.e2e
AXE = Path(__file__).resolve().parents[2] / "clienteling_ui/node_modules/axe-core/axe.js"


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


def days_ago(days: int) -> str:
    return rfc3339(datetime.now(UTC) - timedelta(days=days))


def local_day(page: Page, at: str) -> str:
    """The day as the tablet writes it (en-GB, Europe/London), e.g. "22 Nov"."""
    day: str = page.evaluate(
        "at => new Intl.DateTimeFormat(undefined, {day: 'numeric', month: 'short'})"
        ".format(Date.parse(at))",
        at,
    )
    return day


def with_history(card: dict[str, Any]) -> dict[str, Any]:
    """Amelia's card as the hub finishes it: merged history, stock flag, a colleague helping."""
    history = [
        {"channel": "store", "ref": "R-1", "at": days_ago(3), "total": "126.65",
         "currency": "GBP", "store_id": STORE},
        {"channel": "online", "ref": "o-1", "at": days_ago(9), "total": "95.00",
         "currency": "GBP"},
        {"channel": "online", "ref": "o-2", "at": days_ago(18), "total": "95.00",
         "currency": "GBP"},
        {"channel": "store", "ref": "R-0", "at": days_ago(30), "total": "40.00",
         "currency": "GBP", "store_id": STORE},
        {"channel": "online", "ref": "o-3", "at": days_ago(40), "total": "95.00",
         "currency": "GBP"},
    ]  # fmt: skip
    return {
        **card,
        "history": history,
        "in_stock_here_count": 2,
        "helped_by": {"associate_id": "a-2", "name": "Tom"},
    }


def private_jonas() -> dict[str, Any]:
    """Jonas shares everything but his purchase history, as the hub stores his card."""
    card = {**jonas(), "history": [{"channel": "online", "ref": "o-77", "at": days_ago(40),
                                    "total": "64", "currency": "GBP"}]}  # fmt: skip
    card["profile"] = {**card["profile"], "marketing_consents": {"email": True}}
    return private_card(card, CardSharing(purchase_history=False))


def test_hidden_parts_history_and_flags_on_the_floor(
    page: Page, served: tuple[Hub, LiveServer]
) -> None:
    hub, server = served
    hub.floor[:] = [with_history(amelia("v-1")), private_jonas()]
    page.goto(f"{server.url}/tablet/?store={STORE}")
    expect(page.locator(CARDS)).to_have_count(2)

    jonas_card = page.locator(f'{CARDS}[data-visit-id="v-1002"]')
    hidden = jonas_card.get_by_test_id("hidden-field")
    expect(hidden).to_have_text(["Purchase history hidden · not shared by the customer"])
    expect(hidden).to_have_attribute("data-field", "purchase_history")
    expect(jonas_card.get_by_test_id("history")).to_have_count(0)
    expect(jonas_card.get_by_test_id("orders")).to_have_count(0)
    expect(jonas_card).not_to_contain_text("lifetime")
    expect(jonas_card.get_by_test_id("wishlist")).to_contain_text("Selvedge straight jeans")
    expect(jonas_card.get_by_test_id("contact")).to_have_text("jonas.weber@example.com")

    amelia_card = page.locator(f'{CARDS}[data-visit-id="v-1"]')
    history = amelia_card.get_by_test_id("history")
    last = local_day(page, with_history(amelia())["history"][0]["at"])
    expect(history.get_by_test_id("orders")).to_have_text(f"5 previous orders · last {last}")
    rows = history.get_by_test_id("history-entry")
    expect(rows).to_have_count(4)  # the fifth behind "+1 more"
    expect(history).to_contain_text("+1 more")
    expect(rows.nth(0)).to_have_attribute("data-channel", "store")
    expect(rows.nth(0)).to_contain_text("In store")
    expect(rows.nth(0)).to_contain_text("£126.65")
    expect(rows.nth(1)).to_contain_text("Online")
    expect(amelia_card.get_by_test_id("hidden-field")).to_have_count(0)

    flags = amelia_card.get_by_test_id("flags")
    expect(flags.locator("li")).to_have_text(
        ["2 wanted items in stock here", "Abandoned cart", "Offer sent", "Helped by Tom"]
    )
    expect(flags).to_have_attribute("aria-label", "At a glance")

    # Redeemed at the till: the flag says so, live.
    redeemed = with_history(amelia("v-1"))
    redeemed["offer"] = {**redeemed["offer"], "status": "redeemed"}
    hub.broadcaster.card_updated(STORE, redeemed)
    expect(amelia_card.get_by_test_id("offer-flag")).to_have_text("Offer redeemed")

    # Evaluated rather than added as a <script>: the page's CSP rightly refuses inline scripts.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async () => (await axe.run(
            {include: [[".flags"], [".history"], [".hidden-field"]]},
            {runOnly: ["wcag2a", "wcag2aa"]},
        )).violations.map(v => `${v.id}: ${v.nodes.map(n => n.target).join(", ")}`)"""
    )
    assert violations == [], violations
    save_screenshot(page, "card-privacy-history-flags")


def test_a_look_up_card_has_no_visit_parts_and_read_only_notes(
    page: Page, served: tuple[Hub, LiveServer]
) -> None:
    hub, server = served
    hub.floor[:] = []
    page.goto(f"{server.url}/tablet/?store={STORE}")
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    card = private_card(with_history(amelia()), CardSharing(contact=False))
    card.pop("visit_id")
    card.pop("arrived_at")
    card["present"] = False
    card["notes"] = [{"author": "Priya", "text": "Prefers oat knitwear", "at": days_ago(2)}]

    # What the customer search does: render the card and put it on its own list.
    page.evaluate(
        """async (card) => {
            const { renderCard } = await import("/tablet/static/card.js");
            const list = document.createElement("ul");
            list.dataset.testid = "look-up";
            list.append(renderCard(card));
            document.querySelector("main").prepend(list);
        }""",
        card,
    )

    shown = page.get_by_test_id("look-up").get_by_test_id("shopper-card")
    expect(shown.get_by_test_id("shopper-name")).to_have_text("Amelia Clarke")
    expect(shown).to_have_attribute("data-present", "false")
    expect(shown).to_have_attribute("data-customer-id", "c-20311")
    assert shown.get_attribute("data-visit-id") is None
    expect(shown.get_by_test_id("not-in-store")).to_have_text("Not in store")
    expect(shown.get_by_test_id("time-in-store")).to_have_count(0)
    expect(shown.get_by_test_id("zone")).to_have_count(0)
    expect(shown.get_by_test_id("claim")).to_have_count(0)
    expect(shown.get_by_test_id("helped-flag")).to_have_count(0)
    note = shown.get_by_test_id("note")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("Prefers oat knitwear")
    # A note from an earlier day says which day.
    day = local_day(page, card["notes"][0]["at"])
    expect(note.locator(".notes__meta")).to_contain_text(f"Priya · {day} ")
    expect(shown.get_by_test_id("note-text")).to_have_count(0)
    expect(shown.locator('[data-action="add-note"]')).to_have_count(0)
    expect(shown.get_by_test_id("hidden-field")).to_have_text(
        ["Contact details hidden · not shared by the customer"]
    )
    expect(shown.get_by_test_id("history-entry")).to_have_count(4)
    # The offer is shown, but redeeming goes through a visit, which a look-up card lacks.
    expect(shown.get_by_test_id("offer")).to_contain_text("KNIT15-7QX2")
    expect(shown.get_by_test_id("redeem")).to_have_count(0)
    save_screenshot(page, "card-look-up")


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, LiveServer]]:
    """A real hub (not ingesting) with the demo wallet, served on a free port."""
    tmp = tmp_path_factory.mktemp("wallet")
    config = HubConfig().with_overrides(
        store_id=STORE,
        database_url=f"sqlite:///{tmp}/hub.db",
        vapid_key_path=str(tmp / "vapid.pem"),
    )
    hub = build_hub(config)
    app = create_app(hub)
    register_wallet(app)
    with LiveServer(app) as server:
        yield hub, server
    hub.stop()


def sharing_in_db(hub: Any, customer_id: str) -> tuple[bool, bool, bool, bool]:
    with hub.db.transaction() as session:
        device = session.scalars(select(Device).where(Device.customer_id == customer_id)).one()
        return (
            device.share_sizes,
            device.share_wishlist_and_cart,
            device.share_purchase_history,
            device.share_contact,
        )


def test_the_wallet_asks_what_staff_may_see_and_lets_the_shopper_change_it(
    browser: Browser, wallet: tuple[Any, LiveServer]
) -> None:
    hub, server = wallet
    context = browser.new_context(
        viewport={"width": 412, "height": 915}, locale="en-GB", timezone_id="Europe/London"
    )
    context.set_default_timeout(8_000)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/wallet/")
        form = page.get_by_test_id("consent-form")
        choices = form.get_by_test_id("enroll-sharing")
        history = choices.get_by_label("What I bought, online and in store")
        expect(history).to_be_checked()
        # Without help from staff, what staff may see is moot: the choices grey out.
        form.get_by_label("Let staff see my name, sizes and wishlist").uncheck()
        expect(history).to_be_disabled()
        form.get_by_label("Let staff see my name, sizes and wishlist").check()
        expect(history).to_be_enabled()

        form.get_by_label("Your customer number").fill("c-share-1")
        history.uncheck()
        save_screenshot(page, "wallet-card-sharing")
        form.get_by_role("button", name="Agree and join").click()

        expect(page.get_by_test_id("consents")).to_have_text(
            "You agreed to: recognised in store, offers, help from staff. "
            "Staff do not see your purchases."
        )
        assert sharing_in_db(hub, "c-share-1") == (True, True, False, True)

        change = page.get_by_test_id("sharing-form")
        expect(change).to_be_visible()
        expect(change.get_by_label("What I bought, online and in store")).not_to_be_checked()
        change.get_by_label("My wishlist and online cart").uncheck()
        change.get_by_role("button", name="Save what staff may see").click()
        expect(page.get_by_test_id("sharing-status")).to_have_text(
            "Saved. Staff do not see your wishlist and cart, purchases."
        )
        assert sharing_in_db(hub, "c-share-1") == (True, False, False, True)
    finally:
        context.close()
