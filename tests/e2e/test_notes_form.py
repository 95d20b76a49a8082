"""The notes form on a shopper's card, in two associates' browsers against a real hub.

The rig is tests/fixtures/tablet_floor.py's `floor_hub` (one consented shopper on the floor,
served over HTTP); each associate signs in through the real form in their own browser context.
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import select

from store_hub.adapters.db.models import CustomerNote
from store_hub.hub import Hub
from tests.e2e.test_tablet_session import signed_in_page
from tests.fixtures.browser import save_screenshot
from tests.fixtures.tablet_session import add_test_associate

pytestmark = pytest.mark.e2e
CARD = '[data-testid="shopper-card"][data-visit-id="v-1"]'
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def two_tablets(browser: Browser, floor_hub: tuple[Hub, str]) -> Iterator[tuple[Hub, Page, Page]]:
    """Priya's and Tom's floors, both live and showing the shopper's card."""
    hub, base = floor_hub
    add_test_associate(hub, email="priya@store.example", name="Priya")
    add_test_associate(hub, email="tom@store.example", name="Tom")
    contexts: list[BrowserContext] = []
    try:
        pages = []
        for email in ("priya@store.example", "tom@store.example"):
            context, page = signed_in_page(browser, base, email)
            contexts.append(context)
            expect(page.locator(CARD)).to_have_count(1)
            pages.append(page)
        yield hub, pages[0], pages[1]
    finally:
        for context in contexts:
            context.close()


def add_note(card: Locator, text: str) -> None:
    """Type a note into the card's form and press Add note."""
    card.get_by_label("New note").fill(text)
    card.get_by_role("button", name="Add note").click()


def stored_notes(hub: Hub) -> list[CustomerNote]:
    """The customer's notes in the hub's database, oldest first."""
    with hub.db.transaction() as session:
        query = select(CustomerNote).order_by(CustomerNote.created_at)
        return list(session.scalars(query))


def test_a_note_appears_on_a_colleagues_tablet_with_author_and_time(
    two_tablets: tuple[Hub, Page, Page],
) -> None:
    hub, priya, tom = two_tablets
    mine, theirs = priya.locator(CARD), tom.locator(CARD)
    expect(theirs.get_by_test_id("notes")).to_have_count(0)

    add_note(mine, "  Looking for a winter coat in navy, size M  ")

    expect(mine.get_by_label("New note")).to_have_value("")
    note = theirs.get_by_test_id("note")
    expect(note).to_have_count(1)
    (stored,) = stored_notes(hub)
    at = stored.created_at.astimezone(LONDON).strftime("%H:%M")
    # Trimmed as stored; author and time in the store's time, as the colleague sees it.
    expect(note).to_contain_text(f"Priya · {at}")
    expect(note).to_contain_text("Looking for a winter coat in navy, size M")
    assert stored.text == "Looking for a winter coat in navy, size M"
    expect(mine.get_by_test_id("note")).to_have_count(1)

    add_note(theirs, "Coat put aside at the till")
    expect(mine.get_by_test_id("note").first).to_contain_text("Tom · ")
    expect(mine.get_by_test_id("note")).to_have_count(2)
    # Newest first on both tablets.
    expect(theirs.get_by_test_id("note").first).to_contain_text("Coat put aside at the till")
    save_screenshot(priya, "tablet-notes")


def test_an_empty_or_too_long_note_is_refused_with_the_reason(
    two_tablets: tuple[Hub, Page, Page],
) -> None:
    hub, priya, tom = two_tablets
    mine = priya.locator(CARD)
    problem = mine.get_by_test_id("action-problem")

    add_note(mine, "   ")
    expect(problem).to_have_text("write something before adding the note")

    # The field itself stops at the limit…
    field = mine.get_by_label("New note")
    field.evaluate("el => { el.value = 'y'.repeat(999); }")
    field.press_sequentially("zzz")
    expect(field).to_have_value("y" * 999 + "z")
    # …and a longer text that reaches the hub anyway (a page from before the limit, a script)
    # is refused there, with the reason shown on the card.
    field.evaluate("el => { el.value = 'n'.repeat(1001); }")
    mine.get_by_role("button", name="Add note").click()
    expect(problem).to_have_text("a note is at most 1000 characters (1001 given)")
    expect(field).to_have_value("n" * 1001)

    assert stored_notes(hub) == []
    expect(tom.locator(CARD).get_by_test_id("note")).to_have_count(0)
    # The refusal broke nothing: the next good note goes through.
    add_note(mine, "Prefers to be left to browse")
    expect(tom.locator(CARD).get_by_test_id("note")).to_have_count(1)
    expect(problem).to_have_text("")


def test_a_draft_survives_a_colleagues_update_of_the_card(
    two_tablets: tuple[Hub, Page, Page],
) -> None:
    _hub, priya, tom = two_tablets
    mine, theirs = priya.locator(CARD), tom.locator(CARD)
    draft = "Asked about the green scarf from the"
    field = theirs.get_by_label("New note")
    field.click()
    field.press_sequentially(draft)

    add_note(mine, "Has a fitting room booked")
    mine.get_by_test_id("claim").click()

    expect(theirs.get_by_test_id("helped-by")).to_have_text("Being helped by Priya")
    expect(theirs.get_by_test_id("note")).to_have_count(1)
    expect(field).to_have_value(draft)
    # Tom carries on typing where he was and adds his note.
    field.press_sequentially(" window")
    expect(field).to_have_value(f"{draft} window")
    theirs.get_by_role("button", name="Add note").click()
    expect(mine.get_by_test_id("note").first).to_contain_text(f"{draft} window")
