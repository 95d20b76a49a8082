"""Sending a shopper an offer from a template, from signed-in tablets over a real Socket.IO
connection to a real hub, pushed through a real local Web Push service."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import select

from store_hub.adapters.commerce.snapshot import (
    CommerceConnector,
    CustomerSearch,
    CustomerSnapshot,
)
from store_hub.adapters.db.models import Device, Offer, OfferDecision, Visit
from store_hub.app import create_app
from store_hub.clock import SystemClock
from store_hub.config import HubConfig
from store_hub.domain.offer_decision import TriggerEvent
from store_hub.hub import Hub, build_hub, online_store
from store_hub.operations.enrollment import Consents, enroll_device, set_web_push
from store_hub.operations.events import VisitStarted
from store_hub.operations.offer_decisions import Trigger
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.offers import fresh_database_url
from tests.fixtures.push_service import PushService
from tests.fixtures.tablet_floor import NOW, TIMEOUT, Tablet, seat_shopper
from tests.fixtures.tablet_session import add_test_associate
from tests.integration.test_offer_report_and_rules_api import IT, admin

__all__ = ["admin"]  # the admin API fixture, shared with the rules API's tests

pytestmark = pytest.mark.integration

BASKET = "basket-5-off-40"  # a demo template: £5 off a spend of £40, needs no cart


def decisions(hub: Hub) -> list[OfferDecision]:
    with hub.db.transaction() as session:
        return list(session.scalars(select(OfferDecision).order_by(OfferDecision.id)))


def second_visit(hub: Hub) -> None:
    """The same shopper again in a new visit (the per-visit cap no longer applies)."""
    now = datetime.now(UTC)
    with hub.db.transaction() as session:
        session.add(
            Visit(
                id="v-2",
                store_id=hub.config.store_id,
                device_id="d-1",
                customer_id="c-1",
                arrived_at=now,
                last_seen=now,
                departed_at=None,
                zone=None,
                card={"visit_id": "v-2", "customer_id": "c-1", "profile": None},
            )
        )


def test_an_associate_sends_a_template_every_tablet_sees_it_and_the_phone_gets_it(
    floor_hub: tuple[Hub, str], push_service: PushService
) -> None:
    hub, base = floor_hub
    subscription = push_service.new_subscription()
    with hub.db.transaction() as session:
        keys = subscription["keys"]
        set_web_push(
            session, "d-1", subscription["endpoint"], keys["p256dh"], keys["auth"], hub.clock.now()
        )
    priya, tom = Tablet(hub, base, "Priya"), Tablet(hub, base, "Tom")
    try:
        listed = priya.ask("offer_templates", {})
        assert listed["ok"] is True
        assert [t["id"] for t in listed["templates"]] == [BASKET, "item-15", "knitwear-10"]
        assert listed["templates"][0]["summary"] == (
            "£5.00 off the basket · min. spend £40.00 · valid 2 h"
        )

        body = {"visit_id": "v-1", "template_id": BASKET, "idempotency_key": "tap-1"}
        sent = priya.ask("send_offer", body)
        assert sent["ok"] is True, sent
        code = sent["offer"]["code"]
        assert sent["card"]["offer"]["title"] == "£5.00 off today"
        # Every tablet gets the card with the offer.
        assert tom.updates.get(timeout=TIMEOUT)["offer"]["code"] == code

        pushed = push_service.wait_for(1, timeout=10)[0]
        assert pushed.payload["code"] == code
        assert pushed.headers["Topic"] == "offer-template-basket-5-off-40"

        # A retried tap is the same send: no second offer, no second decision.
        assert priya.ask("send_offer", body)["offer"]["code"] == code
        with hub.db.transaction() as session:
            offers = list(session.scalars(select(Offer)))
            assert [(o.code, o.rule_id) for o in offers] == [(code, f"template:{BASKET}")]
        [decision] = decisions(hub)
        assert (decision.trigger, decision.outcome, decision.reason) == (
            "associate",
            "send",
            "sent",
        )
        assert decision.decided_by == priya.associate.associate_id
        assert decision.rule_id == f"template:{BASKET}" and decision.offer_id == offers[0].id
        assert decision.terms is not None and decision.terms["liability"]["amount"] == "5.00"
    finally:
        priya.client.disconnect()
        tom.client.disconnect()


def test_caps_refuse_with_a_reason_the_associate_understands_and_are_recorded(
    floor_hub: tuple[Hub, str],
) -> None:
    hub, base = floor_hub
    tom = Tablet(hub, base, "Tom")
    try:
        first = tom.ask(
            "send_offer", {"visit_id": "v-1", "template_id": BASKET, "idempotency_key": "a"}
        )
        assert first["ok"] is True

        again = tom.ask(
            "send_offer", {"visit_id": "v-1", "template_id": BASKET, "idempotency_key": "b"}
        )
        assert again["ok"] is False
        assert again["error"] == {
            "code": "capped:visit",
            "message": "Already sent this shopper 1 offer in this visit, the most allowed.",
        }

        second_visit(hub)
        later = tom.ask(
            "send_offer", {"visit_id": "v-2", "template_id": BASKET, "idempotency_key": "c"}
        )
        assert later["error"] == {
            "code": "cooldown",
            "message": "Already sent an offer in the last 30 minutes.",
        }
        recorded = [(d.visit_id, d.outcome, d.reason, d.decided_by) for d in decisions(hub)]
        me = tom.associate.associate_id
        assert recorded == [
            ("v-1", "send", "sent", me),
            ("v-1", "no_send", "capped:visit", me),
            ("v-2", "no_send", "cooldown", me),
        ]
    finally:
        tom.client.disconnect()


def test_no_offers_consent_is_refused_and_bad_requests_are_named(
    floor_hub: tuple[Hub, str],
) -> None:
    hub, base = floor_hub
    with hub.db.transaction() as session:
        device = session.get(Device, "d-1")
        assert device is not None
        device.consent_offers = False
    priya = Tablet(hub, base, "Priya")
    try:
        refused = priya.ask(
            "send_offer", {"visit_id": "v-1", "template_id": BASKET, "idempotency_key": "k1"}
        )
        assert refused["error"] == {
            "code": "no_offers_consent",
            "message": "This shopper has not agreed to receive offers.",
        }
        [decision] = decisions(hub)
        assert (decision.reason, decision.offer_id) == ("no_offers_consent", None)

        unknown = priya.ask(
            "send_offer", {"visit_id": "v-1", "template_id": "nope", "idempotency_key": "k2"}
        )
        assert unknown["error"]["code"] == "unknown_template"
        gone = priya.ask(
            "send_offer", {"visit_id": "v-404", "template_id": BASKET, "idempotency_key": "k3"}
        )
        assert gone["error"]["code"] == "not_on_floor"
        assert priya.ask("send_offer", {"visit_id": "v-1"})["error"]["code"] == "invalid_request"
        assert len(decisions(hub)) == 1  # refusals of the request itself decide nothing
    finally:
        priya.client.disconnect()


def test_templates_go_through_the_admin_api_validated_like_rules(
    admin: tuple[Hub, str, Path],
) -> None:
    hub, url, path = admin
    policy = requests.get(url, headers=IT, timeout=5).json()
    assert [t["id"] for t in policy["templates"]] == [BASKET, "item-15", "knitwear-10"]

    broken = {**policy, "templates": [{**policy["templates"][0], "label": "", "trigger": "x"}]}
    refused = requests.put(url, json=broken, headers=IT, timeout=5)
    assert refused.status_code == 422
    problems = refused.json()["error"]["details"]["problems"]
    assert any(f"template '{BASKET}': trigger is not a known key" in p for p in problems)

    policy["templates"] = policy["templates"][:1]
    policy["templates"][0]["label"] = "£5 off £40, for regulars"
    replaced = requests.put(url, json=policy, headers=IT, timeout=5)
    assert replaced.status_code == 200, replaced.text
    assert [t.label for t in hub.offers.policy.templates] == ["£5 off £40, for regulars"]
    assert yaml.safe_load(path.read_text())["templates"][0]["id"] == BASKET


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_taps_at_once_send_one_offer_and_a_retried_tap_replays_on_each_database(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(request, backend, tmp_path)
    hub = build_hub(
        HubConfig().with_overrides(
            database_url=url, vapid_key_path=str(tmp_path / "keys" / "vapid.pem")
        )
    )
    try:
        now = datetime.now(UTC)
        with hub.db.transaction() as session:
            device_id = enroll_device(session, "c-9", Consents(True, True, True), 10, now).id
            session.flush()
            session.add(
                Visit(
                    id="v-9",
                    store_id=hub.config.store_id,
                    device_id=device_id,
                    customer_id="c-9",
                    arrived_at=now,
                    last_seen=now,
                    departed_at=None,
                    zone=None,
                    card={"visit_id": "v-9", "customer_id": "c-9", "profile": None},
                )
            )
        who = add_test_associate(hub)
        template = hub.offers.policy.template(BASKET)
        trigger = Trigger(
            TriggerEvent.by_associate("v-9", now), hub.config.store_id, "c-9", device_id
        )
        consents = frozenset({"presence", "offers", "associate_view"})
        reasons: list[str] = []
        start = threading.Barrier(4)

        def tap(key: str) -> None:
            start.wait()
            row, _offer, _replayed = hub.offers.decide_template(
                trigger, template, {}, consents, now, associate_id=who.associate_id,
                request_key=key,
            )  # fmt: skip
            reasons.append(row.reason)

        threads = [threading.Thread(target=tap, args=(f"k{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        assert sorted(reasons) == ["capped:visit"] * 3 + ["sent"]

        sent = next(d for d in decisions(hub) if d.reason == "sent")
        again, offer, replayed = hub.offers.decide_template(
            trigger, template, {}, consents, now, associate_id=who.associate_id,
            request_key=sent.request_key or "",
        )  # fmt: skip
        assert replayed and again.id == sent.id and offer is not None
        assert offer.id == sent.offer_id
        assert len(decisions(hub)) == 4
    finally:
        hub.stop()


class HeldOnlineStore:
    """The hub's own connector, answering only when the test lets it."""

    def __init__(self, inner: CommerceConnector) -> None:
        self.inner = inner
        self.asked = threading.Event()
        self.answer = threading.Event()

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        self.asked.set()
        assert self.answer.wait(TIMEOUT * 2), "the test never let the online store answer"
        return self.inner.fetch_customer(customer_id)

    def search_customers(self, query: str, limit: int) -> CustomerSearch:
        return self.inner.search_customers(query, limit)


def test_an_offer_sent_while_the_online_store_answers_stays_on_the_card(tmp_path: Path) -> None:
    # Nothing listens on the online store's port: once let through, the fetch fails at once and
    # the arrival finishes with an unavailable profile and no rule offer of its own.
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        commerce_url=f"http://127.0.0.1:{free_port()}",
    )
    held = HeldOnlineStore(online_store(config, SystemClock()))
    hub = build_hub(config, commerce=held)
    seat_shopper(hub)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    tom = Tablet(hub, server.url, "Tom")
    try:
        hub.arrivals.on_visit_event(
            VisitStarted(hub.config.store_id, "v-1", "d-1", "c-1", NOW, None, "Entrance")
        )
        assert held.asked.wait(TIMEOUT)
        sent = tom.ask(
            "send_offer", {"visit_id": "v-1", "template_id": BASKET, "idempotency_key": "k"}
        )
        assert sent["ok"] is True, sent
        code = sent["offer"]["code"]

        held.answer.set()
        while True:
            card = tom.updates.get(timeout=TIMEOUT)
            if card.get("profile_status") not in (None, "pending"):
                break
        assert card["offer"]["code"] == code
        with hub.db.transaction() as session:
            visit = session.get(Visit, "v-1")
            assert visit is not None and visit.card is not None
            assert visit.card["offer"]["code"] == code
    finally:
        held.answer.set()
        tom.client.disconnect()
        server.stop()
        hub.stop()
