"""The whole customer on the card: purchase history on both channels and their segments."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store_hub.adapters.db.models import Visit
from store_hub.domain.segments import YEAR, CustomerFacts, Purchase, segments
from store_hub.operations.sales import customer_receipts, merged_history

# As many entries as the online orders the card carries (snapshot.MAX_ORDERS).
CARD_HISTORY = 10


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _purchases(history: list[dict[str, Any]]) -> tuple[Purchase, ...]:
    found = []
    for entry in history:
        total = _decimal(entry.get("total"))
        if total is not None and isinstance(entry.get("at"), str):
            found.append(Purchase(datetime.fromisoformat(entry["at"]), total))
    return tuple(found)


def _visits(session: Session, customer_id: str, now: datetime) -> tuple[tuple[datetime, ...], Any]:
    recent = tuple(
        session.scalars(
            select(Visit.arrived_at).where(
                Visit.customer_id == customer_id, Visit.arrived_at >= now - YEAR
            )
        )
    )
    first = session.scalar(
        select(func.min(Visit.arrived_at)).where(Visit.customer_id == customer_id)
    )
    return recent, first


def customer_facts(
    card: Mapping[str, Any],
    history: list[dict[str, Any]],
    visits: tuple[datetime, ...],
    first_visit_at: datetime | None,
) -> CustomerFacts:
    """What the segment rules need, from the card, the merged history and the visits."""
    profile = card.get("profile") or {}
    cart = card.get("cart") or {}
    return CustomerFacts(
        loyalty_tier=profile.get("loyalty_tier"),
        lifetime_value=_decimal(profile.get("lifetime_value")),
        purchases=_purchases(history),
        visits=visits,
        first_visit_at=first_visit_at,
        cart_value=_decimal(cart.get("total")),
        # A pending, partial or unavailable profile may be hiding orders.
        history_known=card.get("profile_status") == "ok",
    )


def add_history_and_segments(
    session: Session, card: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The card with `history` (online and in store, newest first) and `segments`."""
    customer_id = card.get("customer_id")
    if not customer_id:
        return {**card, "history": [], "segments": []}
    receipts = customer_receipts(session, customer_id)
    history = merged_history(card.get("orders") or [], receipts)
    visits, first_visit = _visits(session, customer_id, now)
    facts = customer_facts(card, history, visits, first_visit)
    return {**card, "history": history[:CARD_HISTORY], "segments": segments(facts, now)}
