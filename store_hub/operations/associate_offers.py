"""An associate sends a shopper on the floor an offer from one of the policy's templates.

The hub decides exactly as for a rule (OfferEngine.decide_template: the store's offer lock, the
`offers` consent, quiet hours, courtesy caps and cooldown, the template's budget), records the
decision with who sent it, issues the code, shows it on the card for every tablet and hands it
to the push delivery like a rule's offer. Any signed-in associate may send: the caps and the
template's budget bound what it can cost, and every send names its associate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Visit
from store_hub.api.session import SignedInAssociate
from store_hub.domain.offer_decision import TriggerEvent
from store_hub.domain.offer_refusals import refusal_message
from store_hub.domain.offer_rules import AssociateTemplate, OfferTemplate
from store_hub.operations.claims import ClaimProblem, open_visit
from store_hub.operations.offer_decisions import OfferEngine, Trigger, consents_of
from store_hub.operations.offers import offer_card


class CardChannel(Protocol):
    """Where changed cards go (the tablets' live feed)."""

    def card_updated(self, store_id: str, card: dict[str, Any]) -> None: ...


class OfferNotSent(Exception):
    """Why an associate's offer was not sent: a machine code and a sentence for the associate."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the machine code (a decision reason, or a request problem) with the message."""
        super().__init__(message)
        self.code = code
        self.message = message


def _validity(validity: timedelta) -> str:
    minutes = int(validity.total_seconds()) // 60
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def summary(offer: OfferTemplate) -> str:
    """One line for the associate: what is off, on what, the minimum spend and how long."""
    off = f"{offer.percent_off}% off" if offer.kind == "percent" else ""
    if offer.amount_off is not None:
        off = f"{offer.amount_off.format()} off"
    on = {
        "item": "their dearest cart or wishlist item",
        "category": offer.category or "a category",
        "basket": "the basket",
    }[offer.scope]
    parts = [f"{off} {on}"]
    if offer.max_discount is not None:
        parts.append(f"up to {offer.max_discount.format()}")
    if offer.min_spend is not None:
        parts.append(f"min. spend {offer.min_spend.format()}")
    parts.append(f"valid {_validity(offer.validity)}")
    return " · ".join(parts)


def template_view(template: AssociateTemplate) -> dict[str, Any]:
    """How a template shows in the tablet's "Send offer" dialog."""
    return {
        "id": template.id,
        "label": template.label,
        "description": template.description,
        "summary": summary(template.offer),
    }


@dataclass(frozen=True)
class AssociateOffers:
    """Templates to pick from, and sending one, over the hub's offer engine."""

    db: Database
    engine: OfferEngine
    channel: CardChannel
    deliver: Callable[[str], None]  # the push delivery's submit: must not block
    clock: Callable[[], datetime]

    def templates(self) -> list[dict[str, Any]]:
        """The enabled templates of the policy in force, in its order."""
        return [template_view(t) for t in self.engine.policy.templates if t.enabled]

    def send(
        self, who: SignedInAssociate, visit_id: str, template_id: str, request_key: str
    ) -> dict[str, Any]:
        """Send the shopper of `visit_id` an offer from `template_id`; the card with it.

        OfferNotSent with the decision's reason when the caps (or consent) say no.
        """
        try:
            template = self.engine.policy.template(template_id)
        except KeyError:
            template = None
        if template is None or not template.enabled:
            raise OfferNotSent("unknown_template", "That offer is not available any more.")
        with self.db.transaction() as session:
            visit = _open_visit(session, who.store_id, visit_id)
            device = session.get(Device, visit.device_id)
            if device is None:
                raise OfferNotSent("not_on_floor", "This shopper is no longer in the store.")
            consents = consents_of(
                presence=device.consent_presence,
                offers=device.consent_offers,
                associate_view=device.consent_associate_view,
            )
            card = dict(visit.card or {})
            customer_id, device_id = visit.customer_id, visit.device_id
        now = self.clock()
        trigger = Trigger(
            TriggerEvent.by_associate(visit_id, now), who.store_id, customer_id, device_id
        )
        decision, offer, replayed = self.engine.decide_template(
            trigger,
            template,
            card,
            consents,
            now,
            associate_id=who.associate_id,
            request_key=request_key,
        )
        if offer is None:
            raise OfferNotSent(
                decision.reason,
                refusal_message(decision.reason, self.engine.policy.courtesy, decision.detail),
            )
        shown = offer_card(offer, self.clock())
        with self.db.transaction() as session:
            visit = _open_visit(session, who.store_id, visit_id)
            card = {**(visit.card or {}), "offer": shown}
            visit.card = card
        self.channel.card_updated(who.store_id, card)
        if not replayed:
            self.deliver(offer.id)
        return {"card": card, "offer": shown}


def _open_visit(session: Any, store_id: str, visit_id: str) -> Visit:
    try:
        return open_visit(session, store_id, visit_id)
    except ClaimProblem as problem:
        raise OfferNotSent(problem.code, "This shopper is no longer in the store.") from None
