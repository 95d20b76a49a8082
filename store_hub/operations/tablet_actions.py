"""What an associate can do from the tablet, as Socket.IO acknowledgements {ok, ...}.

Each action takes the signed-in associate and the event body and answers ``{"ok": true, ...}``
or ``{"ok": false, "error": {"code", "message"}}``; the cards change for every tablet through
``card_updated``, so the answer is only for the associate who asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from store_hub.adapters.db.models import Offer
from store_hub.adapters.realtime import TabletAction, refusal
from store_hub.api.session import SignedInAssociate
from store_hub.operations.associate_offers import AssociateOffers, OfferNotSent
from store_hub.operations.claims import ClaimProblem, Claims, colleagues
from store_hub.operations.customer_search import (
    MAX_CUSTOMER_ID_LENGTH,
    CustomerLookup,
    LookupProblem,
)
from store_hub.operations.notes import Notes
from store_hub.operations.offers import (
    OfferProblem,
    RedemptionRequest,
    offer_view,
    redeem_on_tablet,
)


def _text(body: Mapping[str, Any], key: str, limit: int = 64) -> str | None:
    value = body.get(key)
    if isinstance(value, str) and 0 < len(value) <= limit:
        return value
    return None


def claim_actions(claims: Claims) -> dict[str, TabletAction]:
    """claim, release, hand_over and colleagues, over `claims`."""

    def on_visit(
        change: Callable[[SignedInAssociate, str], dict[str, Any]],
    ) -> TabletAction:
        def act(who: SignedInAssociate, body: Mapping[str, Any]) -> dict[str, Any]:
            visit_id = _text(body, "visit_id")
            if visit_id is None:
                return refusal("invalid_request", "visit_id is required")
            try:
                return {"ok": True, "card": change(who, visit_id)}
            except ClaimProblem as problem:
                return refusal(problem.code, problem.message)

        return act

    claim, release = on_visit(claims.claim), on_visit(claims.release)

    def hand_over(who: SignedInAssociate, body: Mapping[str, Any]) -> dict[str, Any]:
        visit_id = _text(body, "visit_id")
        to_id = _text(body, "to_associate_id")
        if visit_id is None or to_id is None:
            return refusal("invalid_request", "visit_id and to_associate_id are required")
        try:
            return {"ok": True, "card": claims.hand_over(who, visit_id, to_id)}
        except ClaimProblem as problem:
            return refusal(problem.code, problem.message)

    def list_colleagues(who: SignedInAssociate, _body: Mapping[str, Any]) -> dict[str, Any]:
        others = [
            c for c in colleagues(claims.db, who.store_id) if c["associate_id"] != who.associate_id
        ]
        return {"ok": True, "colleagues": others}

    return {
        "claim": claim,
        "release": release,
        "hand_over": hand_over,
        "colleagues": list_colleagues,
    }


def redeem_action(claims: Claims) -> dict[str, TabletAction]:
    """redeem: use a code (typed, or the card's own offer) for a shopper on the floor."""

    def redeem(who: SignedInAssociate, body: Mapping[str, Any]) -> dict[str, Any]:
        code = _text(body, "code", 32)
        key = _text(body, "idempotency_key", 128)
        if code is None or key is None:
            return refusal("invalid_request", "code and idempotency_key are required")
        # The order is the visit on the tablet (no till); the key makes a retried tap safe.
        visit_id = _text(body, "visit_id") or "no-visit"
        request = RedemptionRequest(code, who.store_id, f"tablet:{visit_id}", key, "tablet")
        try:
            answer = redeem_on_tablet(claims.db, claims.channel, claims.clock, request)
        except OfferProblem as problem:
            return refusal(problem.code, problem.message)
        # What was redeemed, for the associate to tell the shopper (title, terms).
        with claims.db.transaction() as session:
            offer = session.get(Offer, answer["offer_id"])
            shown = None if offer is None else offer_view(offer, claims.clock())
        return {"ok": True, "redemption": answer, "offer": shown}

    return {"redeem": redeem}


def note_actions(notes: Notes) -> dict[str, TabletAction]:
    """add_note and view_card: colleagues' notes on the card, and the audit log of views."""

    def add_note(who: SignedInAssociate, body: Mapping[str, Any]) -> dict[str, Any]:
        visit_id = _text(body, "visit_id")
        if visit_id is None:
            return refusal("invalid_request", "visit_id is required")
        try:
            return {"ok": True, **notes.add(who, visit_id, body.get("text"))}
        except ClaimProblem as problem:
            return refusal(problem.code, problem.message)

    def view_card(who: SignedInAssociate, body: Mapping[str, Any]) -> dict[str, Any]:
        visit_id = _text(body, "visit_id")
        if visit_id is None:
            return refusal("invalid_request", "visit_id is required")
        try:
            notes.viewed(who, visit_id)
        except ClaimProblem as problem:
            return refusal(problem.code, problem.message)
        return {"ok": True}

    return {"add_note": add_note, "view_card": view_card}


def offer_send_actions(offers: AssociateOffers) -> dict[str, TabletAction]:
    """offer_templates and send_offer: an associate sends a shopper an offer from a template."""

    def list_templates(_who: SignedInAssociate, _body: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "templates": offers.templates()}

    def send_offer(who: SignedInAssociate, body: Mapping[str, Any]) -> dict[str, Any]:
        visit_id = _text(body, "visit_id")
        template_id = _text(body, "template_id")
        key = _text(body, "idempotency_key", 128)
        if visit_id is None or template_id is None or key is None:
            return refusal(
                "invalid_request", "visit_id, template_id and idempotency_key are required"
            )
        try:
            return {"ok": True, **offers.send(who, visit_id, template_id, key)}
        except OfferNotSent as problem:
            return refusal(problem.code, problem.message)

    return {"offer_templates": list_templates, "send_offer": send_offer}


def lookup_actions(lookup: CustomerLookup) -> dict[str, TabletAction]:
    """search_customers and open_customer: find a shopper the floor did not detect."""

    def search_customers(who: SignedInAssociate, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return {"ok": True, **lookup.search(who, body.get("query"))}
        except LookupProblem as problem:
            return refusal(problem.code, problem.message)

    def open_customer(who: SignedInAssociate, body: Mapping[str, Any]) -> dict[str, Any]:
        customer_id = _text(body, "customer_id", MAX_CUSTOMER_ID_LENGTH)
        if customer_id is None:
            return refusal("invalid_request", "customer_id is required")
        try:
            return {"ok": True, **lookup.open(who, customer_id)}
        except LookupProblem as problem:
            return refusal(problem.code, problem.message)

    return {"search_customers": search_customers, "open_customer": open_customer}
