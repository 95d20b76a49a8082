"""What happens when a shopper arrives: their online profile, an offer, the tablet, the phone.

Runs on a small thread pool, never on the ingest worker, so a slow online store or push service
delays nothing but this shopper's card.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.commerce import CommerceConnector, CustomerSnapshot
from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Offer, OfferDecision, Visit
from store_hub.adapters.push import PushMessage, PushSender, WebPushSubscription
from store_hub.domain.codes import new_code
from store_hub.domain.offers import (
    ArrivalRule,
    NoOffer,
    OfferItem,
    OfferTerms,
    decide_arrival_offer,
)
from store_hub.operations.events import VisitEvent, VisitResumed, VisitStarted
from store_hub.operations.floor import ZONE_CARD_KEYS

log = logging.getLogger(__name__)


class Broadcaster(Protocol):
    """The tablets' live channel."""

    def arrived(self, store_id: str, card: dict[str, Any]) -> None: ...
    def card_updated(self, store_id: str, card: dict[str, Any]) -> None: ...
    def departed(self, store_id: str, payload: dict[str, Any]) -> None: ...


def interest_items(card: dict[str, Any]) -> list[OfferItem]:
    """What the shopper showed interest in online, from their card."""
    items = [
        OfferItem(i["sku"], i["name"], Decimal(i["unit_price"]), i["currency"], "cart")
        for i in (card.get("cart") or {}).get("items", [])
    ]
    items += [
        OfferItem(i["sku"], i["name"], Decimal(i["price"]), i["currency"], "wishlist")
        for i in card.get("wishlist", [])
    ]
    return items


# What a card from cached data says about it; a fresh profile drops them.
CACHE_NOTE_KEYS = ("profile_cached_at", "profile_cache_reason")


def pending_card(event: VisitStarted) -> dict[str, Any]:
    """The card of a shopper who just walked in, before the online store has answered."""
    return {
        "visit_id": event.visit_id,
        "customer_id": event.customer_id,
        "device_id": event.device_id,
        "arrived_at": format_timestamp(event.arrived_at),
        "last_seen": format_timestamp(event.arrived_at),
        "zone": event.zone,
        "zone_id": event.zone_id,
        "zone_since": format_timestamp(event.arrived_at),
        "dwell_s": 0,
        "profile_status": "pending",
        "profile": None,
        "wishlist": [],
        "cart": None,
        "orders": [],
        "offer": None,
    }


def offer_card(offer: Offer) -> dict[str, Any]:
    """How an offer shows on the tablet card."""
    return {
        "code": offer.code,
        "title": offer.title,
        "description": offer.description,
        "expires_at": format_timestamp(offer.expires_at),
        "status": offer.status,
    }


class ArrivalService:
    """Enriches arrivals, decides and delivers the arrival offer, and feeds the tablets."""

    def __init__(
        self,
        db: Database,
        commerce: CommerceConnector,
        push: PushSender,
        broadcaster: Broadcaster,
        rule: ArrivalRule,
        clock: Callable[[], datetime],
        store_name: str,
        workers: int = 8,
    ) -> None:
        self._db = db
        self._commerce = commerce
        self._push = push
        self._broadcaster = broadcaster
        self._rule = rule
        self._clock = clock
        self._store_name = store_name
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arrival")

    def on_visit_event(self, event: VisitEvent) -> None:
        """Entry point from presence: hand the work to the pool and return at once."""
        if isinstance(event, VisitStarted):
            self._pool.submit(self._guarded, self.handle_arrival, event)
        elif isinstance(event, VisitResumed):
            self._pool.submit(self._guarded, self.handle_return, event)
        else:
            self._broadcaster.departed(
                event.store_id,
                {
                    "visit_id": event.visit_id,
                    "customer_id": event.customer_id,
                    "departed_at": format_timestamp(event.departed_at),
                },
            )

    def shutdown(self) -> None:
        """Finish the arrivals in hand, then stop."""
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _guarded(self, work: Callable[[Any], None], event: VisitStarted | VisitResumed) -> None:
        try:
            work(event)
        except Exception:
            # One shopper's failure must not stop the pool or hide from the logs.
            log.exception("arrival handling failed for visit %s", event.visit_id)

    def handle_arrival(self, event: VisitStarted) -> None:
        """Tell the tablets at once, then fill the card in with the online profile and offer."""
        with self._db.transaction() as session:
            device = session.get(Device, event.device_id)
            if device is None:
                return
            may_show = device.consent_associate_view
            may_offer = device.consent_offers
        if not (may_show or may_offer):
            return
        card = pending_card(event)
        if may_show:
            if not self._still_open(event.visit_id, card):
                return
            # The online store may be slow or down: the associate sees the shopper now and the
            # card fills in when the profile comes.
            self._broadcaster.arrived(event.store_id, card)
        snapshot = self._commerce.fetch_customer(event.customer_id)
        card = {**card, **snapshot.to_card_dict()}
        offer = self._decide_offer(event, card, may_offer)
        if offer is not None:
            card["offer"] = offer_card(offer)
        if not self._still_open(event.visit_id, card if may_show else None):
            return
        if may_show:
            self._broadcaster.card_updated(event.store_id, card)
        if offer is not None:
            self._deliver(offer, event)
            if may_show:
                card["offer"] = offer_card(offer)
                if self._still_open(event.visit_id, card):
                    self._broadcaster.card_updated(event.store_id, card)

    def on_profile_refreshed(self, snapshot: CustomerSnapshot) -> None:
        """A profile refreshed in the background: update the cards of that shopper's visits."""
        online = snapshot.to_card_dict()
        updated: list[tuple[str, dict[str, Any]]] = []
        with self._db.transaction() as session:
            visits = session.scalars(
                select(Visit).where(
                    Visit.customer_id == snapshot.customer_id, Visit.departed_at.is_(None)
                )
            )
            for visit in visits:
                if visit.card is None:
                    continue  # not shown on tablets (consent), or its arrival is still running
                card = {k: v for k, v in visit.card.items() if k not in CACHE_NOTE_KEYS}
                card.update(online)
                visit.card = card
                updated.append((visit.store_id, card))
        for store_id, card in updated:
            self._broadcaster.card_updated(store_id, card)

    def handle_return(self, event: VisitResumed) -> None:
        """A shopper back within the re-entry window: the same card (and offer) again."""
        with self._db.transaction() as session:
            visit = session.get(Visit, event.visit_id)
            if visit is None or visit.departed_at is not None:
                return
            card = dict(visit.card) if visit.card is not None else None
            if card is not None:
                card["last_seen"] = format_timestamp(visit.last_seen)
                card["zone"] = event.zone
                visit.card = card
            arrived_at = visit.arrived_at
        if card is not None:
            # Tablets removed the card on departure; `arrived` with the same visit_id puts it
            # back, offer included, and no second offer is decided.
            self._broadcaster.arrived(event.store_id, card)
            return
        # No card yet: the first arrival never finished (or the shopper hides from tablets,
        # which handle_arrival checks again). Its offer check sees any offer already made.
        self.handle_arrival(
            VisitStarted(
                event.store_id,
                event.visit_id,
                event.device_id,
                event.customer_id,
                arrived_at,
                event.agent_id,
                event.zone,
                event.zone_id,
            )
        )

    def _still_open(self, visit_id: str, card: dict[str, Any] | None) -> bool:
        """Whether the visit is still open; if so, store `card` as its tablet card.

        The zone fields belong to the floor updates, which may have moved the shopper while
        the online store was answering: the stored ones win over this card's.
        """
        with self._db.transaction() as session:
            visit = session.get(Visit, visit_id)
            if visit is None or visit.departed_at is not None:
                return False
            if card is not None:
                card["last_seen"] = format_timestamp(visit.last_seen)
                stored = visit.card or {}
                card.update({key: stored[key] for key in ZONE_CARD_KEYS if key in stored})
                visit.card = card
            return True

    def _decide_offer(
        self, event: VisitStarted, card: dict[str, Any], may_offer: bool
    ) -> Offer | None:
        now = self._clock()
        with self._db.transaction() as session:
            decision = decide_arrival_offer(
                self._rule,
                interest_items(card),
                offers_consent=may_offer,
                offered_this_visit=repo.offer_made_in_visit(session, event.visit_id),
                now=now,
            )
            offer = None
            if isinstance(decision, OfferTerms):
                offer = self._issue(session, event, decision)
            outcome, reason = ("sent", "issued") if offer else ("none", _reason(decision))
            repo.record_decision(
                session,
                OfferDecision(
                    rule_id=self._rule.rule_id,
                    store_id=event.store_id,
                    customer_id=event.customer_id,
                    visit_id=event.visit_id,
                    outcome=outcome,
                    reason=reason,
                    offer_id=offer.id if offer else None,
                    decided_at=now,
                ),
            )
        return offer

    def _issue(self, session: Any, event: VisitStarted, terms: OfferTerms) -> Offer:
        offer = Offer(
            id=uuid.uuid4().hex,
            code=new_code(),
            store_id=event.store_id,
            customer_id=event.customer_id,
            device_id=event.device_id,
            visit_id=event.visit_id,
            rule_id=terms.rule_id,
            sku=terms.sku,
            title=terms.title,
            description=terms.description,
            percent_off=terms.percent_off,
            discount=terms.discount,
            currency=terms.currency,
            status="issued",
            issued_at=terms.issued_at,
            expires_at=terms.expires_at,
            delivered_at=None,
            delivery_detail=None,
        )
        session.add(offer)
        return offer

    def _deliver(self, offer: Offer, event: VisitStarted) -> None:
        with self._db.transaction() as session:
            subscription = repo.push_subscription(session, event.device_id)
            target = (
                WebPushSubscription(subscription.endpoint, subscription.p256dh, subscription.auth)
                if subscription is not None
                and subscription.kind == "webpush"
                and subscription.endpoint
                and subscription.p256dh
                and subscription.auth
                else None
            )
        now = self._clock()
        if target is None:
            status, detail = "issued", "no Web Push subscription for this device"
        else:
            remaining = max(60, int((offer.expires_at - now).total_seconds()))
            outcome = self._push.send(
                target,
                PushMessage(
                    payload={
                        "type": "offer",
                        "offer_id": offer.id,
                        "code": offer.code,
                        "title": offer.title,
                        "description": offer.description,
                        "expires_at": format_timestamp(offer.expires_at),
                        "store_id": event.store_id,
                        "store_name": self._store_name,
                    },
                    # The phone may be asleep: keep the message until the offer itself expires.
                    ttl_seconds=remaining,
                    topic="arrival-offer",
                    urgency="high",
                ),
            )
            status, detail = _delivery_status(outcome.kind, outcome.reason)
            if outcome.kind == "gone":
                with self._db.transaction() as session:
                    stale = repo.push_subscription(session, event.device_id)
                    if stale is not None:
                        session.delete(stale)
        with self._db.transaction() as session:
            row = session.get(Offer, offer.id)
            if row is not None:
                row.status = status
                row.delivery_detail = detail[:200]
                if status == "delivered":
                    row.delivered_at = now
        offer.status = status
        offer.delivery_detail = detail


def _reason(decision: OfferTerms | NoOffer) -> str:
    return decision.reason if isinstance(decision, NoOffer) else "issued"


def _delivery_status(kind: str, reason: str) -> tuple[str, str]:
    if kind == "delivered":
        return "delivered", "accepted by the push service"
    return "issued", f"push {kind}: {reason}"
