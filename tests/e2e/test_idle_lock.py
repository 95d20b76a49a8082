"""The idle lock of the floor page, in a real browser against a real hub.

The rig is tests/fixtures/tablet_floor.py's `floor_hub` with a 3 s lock (the shortest the
configuration allows); the associate signs in through the real form.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from store_hub.adapters.db.models import Device, Visit
from store_hub.hub import Hub
from store_hub.operations.events import VisitStarted
from tests.e2e.test_tablet_session import signed_in_page
from tests.fixtures.browser import save_screenshot
from tests.fixtures.tablet_session import TEST_PASSWORD, add_test_associate

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize("floor_hub", [{"tablet_idle_lock_minutes": 0.05}], indirect=True),
]
CARDS = '[data-testid="shopper-card"]'
# The lock comes 3 s after the last touch; allow for a busy machine on top.
LOCK_WAIT_MS = 15_000


@pytest.fixture
def floor(browser: Browser, floor_hub: tuple[Hub, str]) -> Iterator[tuple[Hub, Page]]:
    """Priya's floor, live, with the shopper of the rig on it."""
    hub, base = floor_hub
    add_test_associate(hub, email="priya@store.example", name="Priya")
    context, page = signed_in_page(browser, base, "priya@store.example")
    try:
        expect(page.locator(CARDS)).to_have_count(1)
        yield hub, page
    finally:
        context.close()


def walk_in(hub: Hub, visit_id: str, customer_id: str) -> None:
    """A consented shopper arrives: the visit presence opens, then the arrival pipeline."""
    now = datetime.now(UTC)
    with hub.db.transaction() as session:
        session.add(
            Device(
                id=f"d-{visit_id}",
                customer_id=customer_id,
                identity_key=b"q" * 16,
                rotation_exponent=10,
                consent_presence=True,
                consent_offers=True,
                consent_associate_view=True,
                created_at=now,
                revoked_at=None,
            )
        )
        session.flush()
        session.add(
            Visit(
                id=visit_id,
                store_id=hub.config.store_id,
                device_id=f"d-{visit_id}",
                customer_id=customer_id,
                arrived_at=now,
                last_seen=now,
                departed_at=None,
                zone="Entrance",
                card=None,
            )
        )
    hub.arrivals.on_visit_event(
        VisitStarted(
            hub.config.store_id, visit_id, f"d-{visit_id}", customer_id, now, None, "Entrance"
        )
    )


def test_the_lock_covers_a_live_floor_and_only_the_right_password_opens_it(
    floor: tuple[Hub, Page],
) -> None:
    hub, page = floor
    lock = page.get_by_test_id("idle-lock")
    expect(lock).to_be_visible(timeout=LOCK_WAIT_MS)
    expect(page.locator("body")).to_have_attribute("data-locked", "true")
    expect(page.get_by_role("dialog", name="Locked")).to_be_visible()
    # Still connected underneath: a shopper who walks in meanwhile is on the floor.
    walk_in(hub, "v-2", "c-2")
    expect(page.locator(f'{CARDS}[data-visit-id="v-2"]')).to_have_count(1)
    expect(page.locator("body")).to_have_attribute("data-connection", "connected")
    save_screenshot(page, "tablet-idle-lock")

    password = lock.get_by_label("Password")
    password.fill("not my password")
    lock.get_by_role("button", name="Unlock").click()
    expect(lock.get_by_test_id("unlock-problem")).to_have_text("Wrong password; try again.")
    expect(lock).to_be_visible()

    password.fill(TEST_PASSWORD)
    lock.get_by_role("button", name="Unlock").click()
    expect(lock).to_be_hidden()
    expect(page.locator("body")).not_to_have_attribute("data-locked", "true")
    expect(page.locator(f'{CARDS}[data-visit-id="v-2"]')).to_be_visible()
    expect(page.locator(CARDS)).to_have_count(2)


def test_the_lock_opens_with_the_keyboard_alone(floor: tuple[Hub, Page]) -> None:
    _hub, page = floor
    lock = page.get_by_test_id("idle-lock")
    expect(lock).to_be_visible(timeout=LOCK_WAIT_MS)
    password = lock.get_by_label("Password")
    unlock = lock.get_by_role("button", name="Unlock")
    # The dialog takes the focus, and Tab stays inside it.
    expect(password).to_be_focused()
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Tab")
    expect(unlock).to_be_focused()
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(unlock).to_be_focused()
    page.keyboard.press("Enter")
    expect(lock).to_be_hidden()
    expect(page.locator(CARDS)).to_have_count(1)
