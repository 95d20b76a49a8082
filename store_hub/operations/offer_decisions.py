"""Decide offers for a trigger, record every decision and issue the codes of those sent.

One transaction per trigger, under the store's offer lock (offer_queries.lock_store_offers):
read the caps' history, let the domain decide, write the decisions and the offers. Two triggers
at once therefore never both pass a cap.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Offer, OfferDecision
from store_hub.adapters.db.offer_queries import lock_store_offers, offer_history, previous_visit_at
from store_hub.domain.codes import new_code
from store_hub.domain.money import Money
from store_hub.domain.offer_decision import (
    Decision,
    InterestItem,
    OfferDecider,
    Shopper,
    Store,
    Terms,
    TriggerEvent,
)
from store_hub.domain.offer_qr import sign_offer_qr
from store_hub.domain.offer_rules import AssociateTemplate, OfferPolicy, Source


def interest_items(card: dict[str, Any]) -> list[InterestItem]:
    """What the shopper showed interest in online, from their card (stock here if known)."""
    found: list[InterestItem] = []
    sources: tuple[tuple[Source, Iterable[dict[str, Any]], str], ...] = (
        ("cart", (card.get("cart") or {}).get("items") or [], "unit_price"),
        ("wishlist", card.get("wishlist") or [], "price"),
    )
    for source, items, price_key in sources:
        for item in items:
            try:
                price = Money.parse(str(item[price_key]), str(item["currency"]))
            except (KeyError, ValueError):
                continue  # an item without a usable price cannot carry an offer
            stock = item.get("stock_here") or {}
            found.append(
                InterestItem(
                    sku=str(item["sku"]),
                    name=str(item.get("name") or item["sku"]),
                    price=price,
                    source=source,
                    in_stock_here=int(stock.get("available") or 0) > 0,
                    category=item.get("category"),
                )
            )
    return found


def consents_of(*, presence: bool, offers: bool, associate_view: bool) -> frozenset[str]:
    """The consent names the rules speak of, from a device's flags."""
    named = {"presence": presence, "offers": offers, "associate_view": associate_view}
    return frozenset(name for name, given in named.items() if given)


def shopper_from_card(
    card: dict[str, Any],
    customer_id: str,
    consents: frozenset[str],
    last_visit_at: datetime | None,
) -> Shopper:
    """The domain's view of a shopper from their tablet card."""
    profile = card.get("profile") or {}
    return Shopper(
        customer_id=customer_id,
        consents=consents,
        tier=profile.get("loyalty_tier"),
        segments=frozenset(str(s) for s in card.get("segments") or []),
        items=tuple(interest_items(card)),
        last_visit_at=last_visit_at,
        locale=profile.get("locale"),
    )


@dataclass(frozen=True)
class Trigger:
    """A trigger as the hub sees it: the domain event plus who and where."""

    event: TriggerEvent
    store_id: str
    customer_id: str
    device_id: str | None


def _amount(money: Money | None) -> Decimal | None:
    return None if money is None else money.amount


class OfferEngine:
    """The offer policy in force, the holdout secret and the signing key, over the database."""

    def __init__(
        self,
        db: Database,
        policy: OfferPolicy,
        holdout_secret: bytes,
        signing_key: Ed25519PrivateKey,
        tz: ZoneInfo,
    ) -> None:
        """Decide with `policy` in time zone `tz`; sign QR codes with `signing_key`."""
        self._db = db
        self._secret = holdout_secret
        self._decider = OfferDecider(policy, holdout_secret)
        self._lock = threading.Lock()
        self.signing_key = signing_key
        self.tz = tz

    @property
    def policy(self) -> OfferPolicy:
        """The policy in force."""
        return self._decider.policy

    def replace_policy(self, policy: OfferPolicy) -> None:
        """Decide with `policy` from now on (decisions in progress finish with the old one)."""
        with self._lock:
            self._decider = OfferDecider(policy, self._secret)

    def has_dwell_rule(self, zone_id: str) -> bool:
        """Whether an enabled rule fires on dwelling in `zone_id` (else dwell costs nothing)."""
        return any(
            rule.enabled and rule.trigger.kind == "zone_dwell" and rule.trigger.zone == zone_id
            for rule in self.policy.rules
        )

    def decide(
        self, trigger: Trigger, card: dict[str, Any], consents: frozenset[str], now: datetime
    ) -> list[Offer]:
        """Decide, record every decision, and issue the offers sent; those offers, in order."""
        decider = self._decider
        event = trigger.event
        with self._db.transaction() as session:
            lock_store_offers(session, trigger.store_id)
            shopper = shopper_from_card(
                card,
                trigger.customer_id,
                consents,
                previous_visit_at(session, trigger.customer_id, event.visit_id),
            )
            history = offer_history(
                session,
                customer_id=trigger.customer_id,
                store_id=trigger.store_id,
                visit_id=event.visit_id,
                now=now,
                tz=self.tz,
            )
            decisions = decider.decide(
                event, shopper, Store(trigger.store_id, self.tz), history, now
            )
            offers: list[Offer] = []
            for decision in decisions:
                offer = None
                if decision.outcome == "send" and decision.terms is not None:
                    offer = self._issue(session, decision.terms, trigger)
                    offers.append(offer)
                session.add(decision_row(decision, offer))
            return offers

    def decide_template(
        self,
        trigger: Trigger,
        template: AssociateTemplate,
        card: dict[str, Any],
        consents: frozenset[str],
        now: datetime,
        *,
        associate_id: str,
        request_key: str,
    ) -> tuple[OfferDecision, Offer | None, bool]:
        """An associate's offer from `template`, decided, recorded and issued like a rule's,
        under the same lock: the decision row, the offer if sent, and whether this was a replay
        (a request key seen before returns that decision and offer again, decided nothing)."""
        decider = self._decider
        with self._db.transaction() as session:
            lock_store_offers(session, trigger.store_id)
            earlier = session.scalar(
                select(OfferDecision).where(
                    OfferDecision.store_id == trigger.store_id,
                    OfferDecision.request_key == request_key,
                )
            )
            if earlier is not None:
                offer = None if earlier.offer_id is None else session.get(Offer, earlier.offer_id)
                return earlier, offer, True
            shopper = shopper_from_card(card, trigger.customer_id, consents, None)
            history = offer_history(
                session,
                customer_id=trigger.customer_id,
                store_id=trigger.store_id,
                visit_id=trigger.event.visit_id,
                now=now,
                tz=self.tz,
            )
            decision = decider.decide_template(
                template, trigger.event, shopper, Store(trigger.store_id, self.tz), history, now
            )
            offer = None
            if decision.outcome == "send" and decision.terms is not None:
                offer = self._issue(session, decision.terms, trigger)
            row = decision_row(decision, offer)
            row.decided_by = associate_id
            row.request_key = request_key
            session.add(row)
            session.flush()
            return row, offer, False

    def _issue(self, session: Session, terms: Terms, trigger: Trigger) -> Offer:
        offer_id = uuid.uuid4().hex
        code = new_code()
        offer = Offer(
            id=offer_id,
            code=code,
            store_id=trigger.store_id,
            customer_id=trigger.customer_id,
            device_id=trigger.device_id,
            visit_id=trigger.event.visit_id,
            rule_id=terms.rule_id,
            kind=terms.kind,
            scope=terms.scope,
            sku=terms.sku,
            item_name=terms.item_name,
            category=terms.category,
            title=terms.title[:200],
            description=terms.body,
            locale=terms.locale,
            percent_off=terms.percent_off,
            amount_off=_amount(terms.amount_off),
            original_price=_amount(terms.original_price),
            discount=_amount(terms.discount),
            liability=terms.liability.amount,
            min_spend=_amount(terms.min_spend),
            currency=terms.liability.currency,
            qr_token=sign_offer_qr(
                self.signing_key,
                code=code,
                offer_id=offer_id,
                customer_id=trigger.customer_id,
                store_ids=[trigger.store_id],
                expires_at=terms.expires_at,
            ),
            status="issued",
            issued_at=terms.issued_at,
            expires_at=terms.expires_at,
            delivered_at=None,
            opened_at=None,
            redeemed_at=None,
            voided_at=None,
            delivery_status="pending",
            delivery_attempts=0,
            delivery_detail=None,
        )
        session.add(offer)
        session.flush()  # the decision row points at it
        return offer


def decision_row(decision: Decision, offer: Offer | None) -> OfferDecision:
    """The decisions-table row of one domain decision."""
    terms = decision.terms
    return OfferDecision(
        rule_id=decision.rule_id,
        store_id=decision.store_id,
        customer_id=decision.customer_id,
        visit_id=decision.visit_id,
        trigger=decision.trigger,
        outcome=decision.outcome,
        reason=decision.reason,
        detail=decision.detail[:200],
        terms=None if terms is None else terms.to_dict(),
        liability=None if terms is None else terms.liability.amount,
        currency=None if terms is None else terms.liability.currency,
        offer_id=None if offer is None else offer.id,
        decided_at=decision.decided_at,
    )
