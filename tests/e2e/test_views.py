"""The IT and manager views in a real browser against a real hub on SQLite."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from sqlalchemy import select

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Offer, PushSubscription
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.demo.wallet_api import register_wallet
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.domain.offer_qr import sign_offer_qr, verify_offer_qr
from store_hub.hub import Hub, build_hub
from store_hub.operations.agent_health import AgentLedger
from tests.fixtures.browser import LiveServer, save_screenshot
from tests.fixtures.offers import seed_offer
from tests.fixtures.store_day import STORE, SeededDay, seed_store_day
from tests.fixtures.tablet_session import add_test_associate, sign_in_context

pytestmark = pytest.mark.e2e

TABLET: ViewportSize = {"width": 1280, "height": 800}
LONDON = ZoneInfo("Europe/London")
JSON = {"Accept": "application/json"}
PHONE: ViewportSize = {"width": 412, "height": 915}
# Phones the wallet's "walk into the store" handed to the (test's) door agent.
WALKED_IN: list[tuple[bytes, int]] = []
# Headless Chromium here cannot reach a push service (no network), so only the page's
# PushManager is stubbed: the service worker registration, the permission, the VAPID key handed
# to subscribe() and the PUT to the hub are all real.
FAKE_PUSH = """
PushManager.prototype.subscribe = async function (options) {
  const key = options.applicationServerKey;
  window.subscribedWith = { userVisibleOnly: options.userVisibleOnly,
    key: typeof key === "string" ? key : null };
  window.fakeSubscription = {
    endpoint: "https://push.example.test/send/wallet-1",
    toJSON() {
      return { endpoint: this.endpoint, expirationTime: null,
        keys: { p256dh: "B" + "A".repeat(86), auth: "A".repeat(22) } };
    },
  };
  return window.fakeSubscription;
};
PushManager.prototype.getSubscription = async function () {
  return window.fakeSubscription || null;
};
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, LiveServer, SeededDay]]:
    """A hub (not ingesting: no broker needed) over a seeded day, served on a free port."""
    tmp = tmp_path_factory.mktemp("views")
    db_url = f"sqlite:///{tmp}/hub.db"
    seeding = Database.connect(db_url)
    day = seed_store_day(seeding, LONDON)
    seeding.dispose()
    config = HubConfig().with_overrides(
        store_id=STORE,
        database_url=db_url,
        vapid_key_path=str(tmp / "vapid.pem"),
        store_time_zone="Europe/London",
        clock_start=day.now.isoformat(),
    )
    hub = build_hub(config)
    app = create_app(hub)
    register_wallet(app, lambda key, exponent: WALKED_IN.append((key, exponent)))
    with LiveServer(app) as server:
        yield hub, server, day
    hub.stop()


def session_cookie(app: Flask, role: str, store_id: str = STORE) -> dict[str, Any]:
    """A signed session cookie for an associate, as signing in would set it."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    associate = {"associate_id": f"a-{role}", "store_id": store_id, "name": "Sam", "role": role}
    return {
        "name": app.config["SESSION_COOKIE_NAME"],
        "value": serializer.dumps({"associate": associate}),
        "domain": "127.0.0.1",
        "path": "/",
    }


def signed_in(browser: Browser, server: LiveServer, hub: Hub, role: str) -> BrowserContext:
    """A tablet-sized browser context signed in as a real account with `role`."""
    context = browser.new_context(viewport=TABLET, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(8_000)
    # A real account: the live IT view's socket checks that it exists and is active.
    email = f"{role}-{uuid.uuid4().hex[:8]}@store.example"
    associate = add_test_associate(hub, email=email, name="Sam", role=role)
    sign_in_context(context, server.url, server.app, associate)
    return context


@pytest.fixture
def it_page(browser: Browser, served: tuple[Hub, LiveServer, SeededDay]) -> Iterator[Page]:
    context = signed_in(browser, served[1], served[0], "it")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def manager_page(browser: Browser, served: tuple[Hub, LiveServer, SeededDay]) -> Iterator[Page]:
    context = signed_in(browser, served[1], served[0], "manager")
    try:
        yield context.new_page()
    finally:
        context.close()


def test_it_view_lists_a_quarantined_agent_and_approving_makes_it_healthy(
    it_page: Page, served: tuple[Hub, LiveServer, SeededDay]
) -> None:
    hub, server, _day = served
    now = hub.clock.now()
    hub.topology.load()
    hub.topology.register_agent("door-1", "entrance", 0.0, None, now)
    ledger = AgentLedger(hub.db, hub.topology)
    telemetry = {"advertisements_per_s": 41.5, "spool_depth": 3, "scanner_restarts": 1}
    ledger.status("door-1", {"state": "online", "telemetry": telemetry}, now)
    # Heard before IT placed it: quarantined by the ingest.
    ledger.status("shelf-2", {"state": "online", "telemetry": {}}, now)

    it_page.goto(f"{server.url}/tablet/it")

    pending = it_page.get_by_test_id("pending-agent")
    expect(pending).to_have_count(1)
    expect(pending).to_have_attribute("data-agent-id", "shelf-2")
    door = it_page.locator('[data-testid="agent-row"][data-agent-id="door-1"]')
    expect(door).to_have_attribute("data-health", "healthy")
    expect(door).to_contain_text("41.5")
    expect(it_page.get_by_test_id("zone")).to_have_count(2)

    pending.get_by_label("Zone").select_option("fitting")
    pending.get_by_role("button", name="Approve and assign zone").click()

    shelf = it_page.locator('[data-testid="agent-row"][data-agent-id="shelf-2"]')
    expect(shelf).to_have_attribute("data-health", "healthy")
    expect(shelf).to_contain_text("Fitting rooms")
    expect(it_page.get_by_test_id("pending-empty")).to_be_visible()
    assert hub.topology.placement("shelf-2") is not None
    save_screenshot(it_page, "it-view")


def test_manager_view_shows_todays_footfall_dwell_and_funnel(
    manager_page: Page, served: tuple[Hub, LiveServer, SeededDay]
) -> None:
    _hub, server, day = served

    manager_page.goto(f"{server.url}/tablet/manager")

    expect(manager_page.get_by_test_id("footfall-total")).to_have_text(
        str(sum(day.arrivals_by_hour.values()))
    )
    for key, value in day.funnel.items():
        expect(manager_page.get_by_test_id(f"funnel-{key}")).to_have_text(str(value))
    columns = manager_page.locator('[data-testid="footfall-chart"] rect[data-arrivals]')
    expect(columns).to_have_count(24)
    drawn = columns.evaluate_all(
        "rects => Object.fromEntries(rects.filter(r => +r.dataset.arrivals)"
        ".map(r => [r.dataset.hour, +r.dataset.arrivals]))"
    )
    assert {int(h): n for h, n in drawn.items()} == day.arrivals_by_hour
    dwell = manager_page.get_by_test_id("dwell-table")
    expect(dwell.locator('tr[data-zone-id="fitting"]')).to_contain_text("14 min")
    expect(dwell.locator('tr[data-zone-id="fitting"]')).to_contain_text("28 min")
    save_screenshot(manager_page, "manager-view")


def test_views_need_the_right_role(
    browser: Browser, served: tuple[Hub, LiveServer, SeededDay]
) -> None:
    server = served[1]
    base = f"{server.url}/tablet"
    anonymous = requests.get(f"{base}/manager/data", headers=JSON, timeout=5)
    assert anonymous.status_code == 401
    page_redirect = requests.get(
        f"{base}/it", headers={"Accept": "text/html"}, allow_redirects=False, timeout=5
    )
    assert page_redirect.status_code == 302
    assert "/tablet/sign-in" in page_redirect.headers["Location"]
    for role, path, status in [
        ("associate", "/it/data", 403),
        ("associate", "/manager/data", 403),
        ("it", "/manager/data", 403),
        ("it", "/it/data", 200),
        ("manager", "/it/data", 200),
    ]:
        cookie = session_cookie(server.app, role)
        answer = requests.get(f"{base}{path}", cookies={cookie["name"]: cookie["value"]}, timeout=5)
        assert answer.status_code == status, (role, path)
    other = session_cookie(server.app, "manager", store_id="s999")
    answer = requests.get(
        f"{base}/manager/data", cookies={other["name"]: other["value"]}, timeout=5
    )
    assert answer.status_code == 403
    it = session_cookie(server.app, "it")
    cross_site = requests.post(
        f"{base}/it/agents/x/approve",
        json={"zone_id": "entrance"},
        headers={"Origin": "https://evil.example"},
        cookies={it["name"]: it["value"]},
        timeout=5,
    )
    assert cross_site.status_code == 403


def test_wallet_enrolls_shows_its_token_subscribes_to_push_and_shows_offer_qr(
    browser: Browser, served: tuple[Hub, LiveServer, SeededDay]
) -> None:
    hub, server, _day = served
    context = browser.new_context(
        viewport=PHONE, locale="en-GB", timezone_id="Europe/London", permissions=["notifications"]
    )
    context.set_default_timeout(10_000)
    context.add_init_script(FAKE_PUSH)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/wallet/")
        form = page.get_by_test_id("consent-form")
        expect(form).to_be_visible()
        form.get_by_label("Your customer number").fill("c-wallet-7")
        form.get_by_label("Let staff see my name, sizes and wishlist").uncheck()
        form.get_by_role("button", name="Agree and join").click()

        expect(page.get_by_test_id("customer-id")).to_have_text("c-wallet-7")
        expect(page.get_by_test_id("consents")).to_have_text(
            "You agreed to: recognised in store, offers."
        )
        with hub.db.transaction() as session:
            device = session.scalars(select(Device).where(Device.customer_id == "c-wallet-7")).one()
            key, exponent, device_id = device.identity_key, device.rotation_exponent, device.id
            assert (device.consent_presence, device.consent_offers) == (True, True)
            assert device.consent_associate_view is False

        # The token is the device's current EID, as the phone would compute it.
        expect(page.get_by_test_id("token")).to_have_text(re.compile(r"^eid:[0-9a-f]{16}$"))
        shown = page.get_by_test_id("token").text_content()
        counter = int(hub.clock.now().timestamp())
        expected = {eid_token(compute_eid(key, exponent, c)) for c in (counter, counter - 30)}
        assert shown in expected

        page.get_by_test_id("walk-in").click()
        expect(page.locator("body")).to_have_attribute("data-walked-in", "true")
        assert WALKED_IN[-1] == (key, exponent)

        page.get_by_test_id("push-button").click()
        expect(page.locator("body")).to_have_attribute("data-push", "subscribed")
        expect(page.get_by_test_id("push-status")).to_have_text("On")
        scope = page.evaluate(
            "navigator.serviceWorker.getRegistration('/wallet/').then(r => r && r.scope)"
        )
        assert scope == f"{server.url}/wallet/"
        subscribed = page.evaluate("window.subscribedWith")
        assert subscribed == {"userVisibleOnly": True, "key": hub.vapid.application_server_key}
        with hub.db.transaction() as session:
            push = session.get(PushSubscription, device_id)
            assert push is not None
            assert push.endpoint == "https://push.example.test/send/wallet-1"

        now = hub.clock.now()
        offer = seed_offer(hub.db, now, customer_id="c-wallet-7", device_id=device_id)
        token = sign_offer_qr(
            hub.offers.signing_key,
            code=offer.code,
            offer_id=offer.id,
            customer_id="c-wallet-7",
            store_ids=[STORE],
            expires_at=offer.expires_at,
        )
        with hub.db.transaction() as session:
            row = session.get(Offer, offer.id)
            assert row is not None
            row.qr_token = token

        shown_offer = page.get_by_test_id("offer")
        # The page polls its offers every 5 s.
        expect(shown_offer).to_have_count(1, timeout=15_000)
        expect(shown_offer.get_by_test_id("offer-code")).to_have_text(offer.code)
        qr = shown_offer.get_by_test_id("offer-qr")
        # No QR decoder is installed here: check the token the QR was drawn from, and that a
        # full QR symbol (21+ modules a side) was drawn.
        rendered = qr.get_attribute("data-qr-token")
        assert rendered == token
        claims = verify_offer_qr(
            rendered,
            [hub.offers.signing_key.public_key()],
            store_id=STORE,
            now=hub.clock.now(),
            customer_id="c-wallet-7",
        )
        assert claims.code == offer.code
        modules = int(qr.locator("svg").get_attribute("data-modules") or 0)
        assert modules >= 21
        save_screenshot(page, "wallet")
    finally:
        context.close()


def test_approving_from_the_it_view_takes_an_optional_floor_position(
    served: tuple[Hub, LiveServer, SeededDay],
) -> None:
    hub, server, _day = served
    it = session_cookie(server.app, "it")
    cookies = {it["name"]: it["value"]}
    url = f"{server.url}/tablet/it/agents/shelf-9/approve"
    hub.topology.quarantine("shelf-9", hub.clock.now())
    for body, message in [
        ({"zone_id": "entrance", "x_m": 3.0}, "two numbers"),
        ({"zone_id": "entrance", "x_m": "3", "y_m": 1.0}, "two numbers"),
        ({"zone_id": "entrance", "x_m": True, "y_m": 1.0}, "two numbers"),
        ({"zone_id": "entrance", "x_m": 3.0, "y_m": 20_000}, "between -10000 and 10000"),
    ]:
        refused = requests.post(url, json=body, cookies=cookies, timeout=5)
        assert refused.status_code == 422, body
        assert message in refused.json()["error"]["message"]
    assert "shelf-9" not in hub.topology.floor_positions()
    placed = requests.post(
        url, json={"zone_id": "entrance", "x_m": 3.0, "y_m": -1.5}, cookies=cookies, timeout=5
    )
    assert placed.status_code == 200
    assert hub.topology.floor_positions()["shelf-9"] == (3.0, -1.5)
