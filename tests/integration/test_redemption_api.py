"""The POS API over real HTTP: validate, redeem exactly once, void once; SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import func, select

from store_hub.adapters.db.models import Offer, Redemption
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.domain.offer_qr import sign_offer_qr, verify_offer_qr
from store_hub.hub import Hub, build_hub
from store_hub.operations.offers import RedemptionRequest, redeem_on_tablet
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.offers import fresh_database_url, seed_offer

pytestmark = pytest.mark.integration
POS = {"Authorization": "Bearer test-pos-key"}
STORE = "s042"


@dataclass
class Running:
    hub: Hub
    base: str

    def post(self, path: str, key: str | None = None, **body: Any) -> requests.Response:
        headers = dict(POS)
        if key is not None:
            headers["Idempotency-Key"] = key
        return requests.post(f"{self.base}{path}", json=body, headers=headers, timeout=30)

    def redeem(self, code: str, key: str | None, order_ref: str = "R-1") -> requests.Response:
        return self.post("/redemptions", key, code=code, store_id=STORE, order_ref=order_ref)


def start(url: str, tmp_path: Path) -> tuple[Hub, HubServer]:
    config = HubConfig().with_overrides(
        database_url=url,
        pos_api_key="test-pos-key",
        enroll_api_key="test-enroll-key",
        vapid_key_path=str(tmp_path / "vapid.pem"),
    )
    hub = build_hub(config)
    return hub, HubServer(create_app(hub), "127.0.0.1", free_port()).start()


@pytest.fixture(params=["sqlite", "postgresql"])
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    hub, server = start(fresh_database_url(request, request.param, tmp_path), tmp_path)
    try:
        yield Running(hub, f"{server.url}/api/v1")
    finally:
        server.stop()
        hub.stop()


@pytest.fixture
def on_sqlite(tmp_path: Path) -> Iterator[Running]:
    hub, server = start(f"sqlite:///{tmp_path}/hub.db", tmp_path)
    try:
        yield Running(hub, f"{server.url}/api/v1")
    finally:
        server.stop()
        hub.stop()


def race(n: int, work: Any) -> list[requests.Response]:
    """Run `work(i)` on n threads released at the same instant."""
    barrier = threading.Barrier(n)
    results: list[requests.Response | None] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def ledger(hub: Hub, offer_id: str) -> int:
    with hub.db.transaction() as session:
        query = select(func.count()).select_from(Redemption).where(Redemption.offer_id == offer_id)
        return int(session.scalar(query) or 0)


def test_fifty_tills_race_for_one_code_and_exactly_one_wins(running: Running) -> None:
    offer = seed_offer(running.hub.db, running.hub.clock.now())

    answers = race(50, lambda i: running.redeem(offer.code, key=f"till-{i}", order_ref=f"R-{i}"))

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 49, statuses
    losers = [a.json()["error"] for a in answers if a.status_code == 409]
    assert {e["code"] for e in losers} == {"already_redeemed"}
    assert ledger(running.hub, offer.id) == 1
    with running.hub.db.transaction() as session:
        assert session.get(Offer, offer.id).status == "redeemed"  # type: ignore[union-attr]


def test_fifty_retries_with_one_idempotency_key_all_get_the_same_answer(running: Running) -> None:
    offer = seed_offer(running.hub.db, running.hub.clock.now())

    answers = race(50, lambda i: running.redeem(offer.code, key="one-key-for-all"))

    assert {a.status_code for a in answers} == {201}, [a.text for a in answers[:3]]
    bodies = {a.content for a in answers}
    assert len(bodies) == 1, bodies
    body = answers[0].json()
    assert body["code"] == offer.code and body["amount"] == {"amount": "4.99", "currency": "GBP"}
    assert ledger(running.hub, offer.id) == 1


def test_validate_says_what_the_code_is_worth_without_using_it(on_sqlite: Running) -> None:
    offer = seed_offer(on_sqlite.hub.db, on_sqlite.hub.clock.now())
    typed = offer.code.lower().replace("-", " ").replace("0", "o")

    first = requests.get(f"{on_sqlite.base}/offers/{typed}", headers=POS, timeout=5)
    again = requests.get(f"{on_sqlite.base}/offers/{offer.code}", headers=POS, timeout=5)

    assert first.status_code == 200, first.text
    view = first.json()
    assert view["code"] == offer.code and view["status"] == "delivered"
    assert view["discount"] == {"amount": "4.99", "currency": "GBP"}
    assert again.json() == view  # validating twice uses nothing
    assert on_sqlite.redeem(offer.code, key="k1").status_code == 201


def test_unknown_expired_redeemed_and_wrong_store_codes(on_sqlite: Running) -> None:
    hub, now = on_sqlite.hub, on_sqlite.hub.clock.now()
    expired = seed_offer(hub.db, now, valid_for=timedelta(seconds=-1))
    elsewhere = seed_offer(hub.db, now, store_id="s999")
    used = seed_offer(hub.db, now)
    assert on_sqlite.redeem(used.code, key="first").status_code == 201

    def problem(code: str) -> tuple[int, str]:
        response = requests.get(f"{on_sqlite.base}/offers/{code}", headers=POS, timeout=5)
        return response.status_code, response.json()["error"]["code"]

    assert problem("ZZZZZ-ZZZZZ") == (404, "offer_not_found")
    assert problem("not-a-code") == (404, "offer_not_found")
    assert problem(expired.code) == (410, "offer_expired")
    assert problem(elsewhere.code) == (403, "wrong_store")
    assert problem(used.code) == (409, "already_redeemed")
    # Redeeming answers the same way, and uses nothing.
    assert on_sqlite.redeem(expired.code, key="k-exp").status_code == 410
    assert on_sqlite.redeem(elsewhere.code, key="k-else").status_code == 403
    assert on_sqlite.redeem("ZZZZZ-ZZZZZ", key="k-unknown").status_code == 404
    assert ledger(hub, expired.id) == ledger(hub, elsewhere.id) == 0


def test_redeem_needs_a_key_this_store_and_a_pos_key(on_sqlite: Running) -> None:
    offer = seed_offer(on_sqlite.hub.db, on_sqlite.hub.clock.now())
    missing = on_sqlite.redeem(offer.code, key=None)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"
    other = on_sqlite.post("/redemptions", "k", code=offer.code, store_id="s999", order_ref="R")
    assert other.status_code == 403
    anonymous = requests.post(
        f"{on_sqlite.base}/redemptions",
        json={"code": offer.code, "store_id": STORE, "order_ref": "R"},
        headers={"Idempotency-Key": "k"},
        timeout=5,
    )
    assert anonymous.status_code == 401
    assert on_sqlite.post("/redemptions", "k", code=offer.code).status_code == 422
    # Reusing a key for another order is refused, not silently answered with the first one.
    assert on_sqlite.redeem(offer.code, key="k", order_ref="R-1").status_code == 201
    reused = on_sqlite.redeem(offer.code, key="k", order_ref="R-2")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"


def test_void_undoes_a_redemption_once_and_the_code_stays_dead(on_sqlite: Running) -> None:
    offer = seed_offer(on_sqlite.hub.db, on_sqlite.hub.clock.now())
    redemption = on_sqlite.redeem(offer.code, key="k1").json()

    voided = on_sqlite.post(f"/redemptions/{redemption['redemption_id']}/void")
    again = on_sqlite.post(f"/redemptions/{redemption['redemption_id']}/void")
    unknown = on_sqlite.post("/redemptions/nope/void")

    assert voided.status_code == 200, voided.text
    assert voided.json()["voided_at"] is not None
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_voided"
    assert unknown.status_code == 404
    check = requests.get(f"{on_sqlite.base}/offers/{offer.code}", headers=POS, timeout=5)
    assert (check.status_code, check.json()["error"]["code"]) == (409, "offer_voided")
    assert on_sqlite.redeem(offer.code, key="k2").status_code == 409
    # The original key still answers with the original redemption.
    replay = on_sqlite.redeem(offer.code, key="k1")
    assert replay.status_code == 201 and replay.json() == redemption


def test_verify_key_checks_the_hubs_qr_tokens_offline(on_sqlite: Running) -> None:
    hub, now = on_sqlite.hub, on_sqlite.hub.clock.now()
    served = requests.get(f"{on_sqlite.base}/offers/verify-key", headers=POS, timeout=5)
    assert served.status_code == 200
    public = load_pem_public_key(served.json()["public_key_pem"].encode())
    token = sign_offer_qr(
        hub.offers.signing_key,
        code="7K2QX-M9D4T",
        offer_id="o1",
        customer_id="c0001",
        store_ids=[STORE],
        expires_at=now + timedelta(hours=1),
    )
    claims = verify_offer_qr(token, [public], store_id=STORE, now=now)  # type: ignore[list-item]
    assert claims.code == "7K2QX-M9D4T" and claims.bound_to("c0001")
    assert requests.get(f"{on_sqlite.base}/offers/verify-key", timeout=5).status_code == 401


def test_the_tablet_redeems_through_the_same_ledger(on_sqlite: Running) -> None:
    hub = on_sqlite.hub
    offer = seed_offer(hub.db, hub.clock.now())
    request = RedemptionRequest(offer.code, STORE, "tablet-1", "tablet-key")

    answer = redeem_on_tablet(hub.db, hub.broadcaster, hub.clock.now, request)

    assert answer["code"] == offer.code
    with hub.db.transaction() as session:
        row = session.scalars(select(Redemption)).one()
        assert (row.channel, row.offer_id) == ("tablet", offer.id)
    assert on_sqlite.redeem(offer.code, key="till").status_code == 409


def test_the_app_reports_an_offer_opened_once_and_never_backwards(on_sqlite: Running) -> None:
    hub, now = on_sqlite.hub, on_sqlite.hub.clock.now()
    offer = seed_offer(hub.db, now)
    app = {"Authorization": "Bearer test-enroll-key"}

    def opened(code: str, headers: dict[str, str] = app) -> requests.Response:
        return requests.post(f"{on_sqlite.base}/offers/{code}/opened", headers=headers, timeout=5)

    assert opened(offer.code, POS).status_code == 401  # a till cannot say the phone opened it
    first = opened(offer.code)
    assert (first.status_code, first.json()["status"]) == (200, "opened")
    assert opened(offer.code).json()["status"] == "opened"  # the phone says it twice
    view = requests.get(f"{on_sqlite.base}/offers/{offer.code}", headers=POS, timeout=5).json()
    assert view["status"] == "opened"
    assert on_sqlite.redeem(offer.code, key="k-open").status_code == 201
    # A late receipt after the till redeemed it changes nothing.
    assert opened(offer.code).json()["status"] == "redeemed"
    assert opened("ZZZZZ-ZZZZZ").status_code == 404
