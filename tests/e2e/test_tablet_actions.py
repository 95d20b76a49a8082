"""The tablet's offer actions in a real browser against a real hub: send an offer from a template,
redeem a typed code, and redeem a code scanned from the shopper's QR with a (fake) camera."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from store_hub.adapters.db.models import Offer
from store_hub.hub import Hub
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS, save_screenshot
from tests.fixtures.tablet_floor import Tablet
from tests.fixtures.tablet_session import TEST_PASSWORD, add_test_associate

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "clienteling_ui/node_modules/axe-core/axe.js"
TABLET: ViewportSize = {"width": 1024, "height": 768}
CARD = '[data-testid="shopper-card"][data-visit-id="v-1"]'
BASKET = "basket-5-off-40"
# What the fake camera shows: a QR code in the middle of a white frame.
FRAME_W, FRAME_H, FRAMES = 640, 480, 30


def signed_in(browser: Browser, hub: Hub, base: str, name: str = "Priya") -> BrowserContext:
    """A browser context with a real associate's session, from the real sign-in form."""
    email = f"{name.lower()}@store.example"
    add_test_associate(hub, email=email, name=name)
    answer = requests.post(
        f"{base}/tablet/session",
        data={"email": email, "password": TEST_PASSWORD},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 303
    context = browser.new_context(viewport=TABLET, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(8_000)
    context.add_cookies([{"name": "session", "value": answer.cookies["session"], "url": base}])
    return context


@pytest.fixture
def tablet(browser: Browser, floor_hub: tuple[Hub, str]) -> Iterator[Page]:
    hub, base = floor_hub
    context = signed_in(browser, hub, base)
    try:
        page = context.new_page()
        page.goto(f"{base}/tablet/")
        expect(page.locator(CARD)).to_be_visible()
        yield page
    finally:
        context.close()


def offer_sent_by_a_colleague(hub: Hub, base: str) -> str:
    """A code sent to the shopper of v-1 from a template, through the real tablet action."""
    tom = Tablet(hub, base, "Tom")
    try:
        answer = tom.ask(
            "send_offer", {"visit_id": "v-1", "template_id": BASKET, "idempotency_key": "t-1"}
        )
    finally:
        tom.client.disconnect()
    assert answer["ok"] is True, answer
    code: str = answer["offer"]["code"]
    return code


def axe_violations(page: Page, selector: str) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[str] = page.evaluate(
        """async (selector) => (await axe.run(
            {include: [[selector]]}, {runOnly: ["wcag2a", "wcag2aa"]},
        )).violations.map(v => `${v.id}: ${v.nodes.map(n => n.target).join(", ")}`)""",
        selector,
    )
    return found


def test_send_an_offer_from_a_template_and_see_it_on_the_card(
    tablet: Page, floor_hub: tuple[Hub, str]
) -> None:
    hub, _base = floor_hub
    card = tablet.locator(CARD)
    opener = card.get_by_test_id("send-offer")
    opener.click()

    dialog = tablet.get_by_role("dialog", name="Send an offer")
    expect(dialog).to_be_visible()
    basket = dialog.get_by_role("radio", name=re.compile("£5 off a spend of £40"))
    expect(basket).to_be_focused()  # the first choice, once the templates are in
    expect(dialog.get_by_test_id("offer-templates")).to_contain_text(
        "£5.00 off the basket · min. spend £40.00 · valid 2 h"
    )
    send = dialog.get_by_role("button", name="Send offer")
    expect(send).to_be_disabled()  # money: nothing is picked for the associate
    assert axe_violations(tablet, "#send-offer-dialog") == []
    save_screenshot(tablet, "tablet-send-offer-dialog", full_page=False)
    tablet.keyboard.press("Space")  # the focused radio, by keyboard
    send.click()

    expect(dialog).to_be_hidden()
    expect(card.get_by_test_id("offer")).to_contain_text("£5.00 off today")
    expect(tablet.get_by_test_id("send-offer-announce")).to_contain_text(
        "Offer sent: £5.00 off today"
    )
    expect(opener).to_be_focused()  # back where the associate was
    with hub.db.transaction() as session:
        [offer] = session.query(Offer).all()
        assert offer.rule_id == f"template:{BASKET}"
    expect(card.get_by_test_id("offer")).to_contain_text(offer.code)

    # The same caps as the rules: a second offer in this visit is refused, with the reason.
    opener.click()
    dialog.get_by_role("radio", name=re.compile("10% off knitwear")).check()
    send.click()
    expect(dialog.get_by_test_id("send-offer-problem")).to_have_text(
        "Already sent this shopper 1 offer in this visit, the most allowed."
    )
    expect(dialog).to_be_visible()
    tablet.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_type_a_code_and_redeem_it(tablet: Page, floor_hub: tuple[Hub, str]) -> None:
    hub, base = floor_hub
    code = offer_sent_by_a_colleague(hub, base)
    tablet.get_by_test_id("redeem-code-open").click()
    dialog = tablet.get_by_role("dialog", name="Redeem a code")
    field = dialog.get_by_label("Offer code")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("autocapitalize", "characters")
    result = dialog.get_by_test_id("code-result")

    # No camera in this browser: it says so, and typing still works.
    dialog.get_by_test_id("scan-code").click()
    expect(dialog.get_by_test_id("code-status")).to_contain_text("type the code instead")

    field.fill("not a code")
    field.press("Enter")
    expect(result).to_have_text("An offer code is 10 letters and digits, e.g. 7K2QX-M9D4T.")
    field.fill("ZZZZZ ZZZZZ")
    dialog.get_by_test_id("redeem-code").click()
    expect(result).to_contain_text("No offer has this code")

    # Lower case, spaces for the dash: normalised before it is sent.
    field.fill(f"  {code.lower().replace('-', ' ')} ")
    dialog.get_by_test_id("redeem-code").click()
    expect(result).to_contain_text(f"Redeemed {code}")
    expect(result).to_contain_text("£5.00 off today · up to £5.00 off a spend of £40.00")
    expect(field).to_have_value(code)
    # The card shows it for every tablet.
    expect(tablet.locator(CARD).get_by_test_id("offer")).to_contain_text("Offer redeemed")
    assert axe_violations(tablet, ".code-entry") == []
    save_screenshot(tablet, "tablet-redeem-code", full_page=False)

    field.fill(code)
    dialog.get_by_test_id("redeem-code").click()
    expect(result).to_contain_text("This code has already been redeemed.")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(tablet.get_by_test_id("redeem-code-open")).to_be_focused()


def qr_luma(page: Page, text: str) -> bytes:
    """The luma plane of a FRAME_W x FRAME_H frame with `text` as a QR code, drawn by the
    wallet's own QR library in the browser."""
    values: list[int] = page.evaluate(
        """async ([text, width, height]) => {
            const { default: qrcode } = await import("/tablet/static/vendor/qrcode-generator.mjs");
            const qr = qrcode(0, "M");
            qr.addData(text, "Byte");
            qr.make();
            const modules = qr.getModuleCount() + 8;  // with the quiet zone
            const scale = Math.floor(Math.min(width, height) * 0.9 / modules);
            const canvas = document.createElement("canvas");
            canvas.width = width;
            canvas.height = height;
            const ctx = canvas.getContext("2d");
            ctx.fillStyle = "#fff";
            ctx.fillRect(0, 0, width, height);
            ctx.fillStyle = "#000";
            const left = Math.floor((width - modules * scale) / 2) + 4 * scale;
            const top = Math.floor((height - modules * scale) / 2) + 4 * scale;
            for (let r = 0; r < qr.getModuleCount(); r++) {
                for (let c = 0; c < qr.getModuleCount(); c++) {
                    if (!qr.isDark(r, c)) continue;
                    ctx.fillRect(left + c * scale, top + r * scale, scale, scale);
                }
            }
            const rgba = ctx.getImageData(0, 0, width, height).data;
            const luma = [];
            for (let i = 0; i < rgba.length; i += 4) luma.push(rgba[i]);
            return luma;
        }""",
        [text, FRAME_W, FRAME_H],
    )
    assert len(values) == FRAME_W * FRAME_H
    return bytes(values)


def write_y4m(path: Path, luma: bytes) -> None:
    """A YUV4MPEG2 (4:2:0) video of the same grey frame, for Chromium's fake camera."""
    chroma = bytes([128]) * ((FRAME_W // 2) * (FRAME_H // 2) * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{FRAME_W} H{FRAME_H} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + luma + chroma)


def test_scan_the_shoppers_qr_code_with_the_camera_and_redeem(
    browser: Browser, tablet: Page, floor_hub: tuple[Hub, str], tmp_path: Path
) -> None:
    hub, base = floor_hub
    code = offer_sent_by_a_colleague(hub, base)
    with hub.db.transaction() as session:
        token = session.query(Offer).filter_by(code=code).one().qr_token
    assert token is not None
    video = tmp_path / "shopper-phone.y4m"
    # What the shopper's wallet shows: the signed token (store_hub/domain/offer_qr.py).
    write_y4m(video, qr_luma(tablet, token))

    camera = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = signed_in(camera, hub, base, "Sam")
        context.grant_permissions(["camera"], origin=base)
        page = context.new_page()
        page.goto(f"{base}/tablet/")
        page.get_by_test_id("redeem-code-open").click()
        dialog = page.get_by_role("dialog", name="Redeem a code")
        dialog.get_by_role("button", name="Scan").click()
        result = dialog.get_by_test_id("code-result")
        expect(result).to_contain_text(f"Redeemed {code}", timeout=20_000)
        expect(dialog.get_by_label("Offer code")).to_have_value(code)
        expect(dialog.get_by_test_id("code-camera")).to_be_hidden()  # the camera is off again
        save_screenshot(page, "tablet-scan-code", full_page=False)
    finally:
        camera.close()
    with hub.db.transaction() as session:
        assert session.query(Offer).filter_by(code=code).one().status == "redeemed"
