"""Offer queries on a caller's session: the caps' history summary and the per-store lock."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, text
from sqlalchemy.orm import Session

from store_hub.adapters.db.models import OfferDecision, Visit
from store_hub.domain.money import Money, round_money
from store_hub.domain.offer_caps import OfferHistory, RuleUsage
from store_hub.domain.quiet_hours import local_day_bounds


def lock_store_offers(session: Session, store_id: str) -> None:
    """Hold the store's offer lock until the transaction ends, so caps are read and used alone.

    Two triggers deciding at once would both read "one offer left" and both send. PostgreSQL:
    a transaction-scoped advisory lock per store. SQLite: a write statement that matches no
    row, which takes the database's write lock (SQLite has one writer at a time).
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"store-hub offers {store_id}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        session.execute(text("UPDATE offer_decisions SET id = id WHERE 1 = 0"))


def offer_history(
    session: Session,
    *,
    customer_id: str,
    store_id: str,
    visit_id: str,
    now: datetime,
    tz: ZoneInfo,
) -> OfferHistory:
    """What the caps need, read from the recorded decisions (offer_caps' docstring, one query
    per field)."""
    start, end = local_day_bounds(now, tz)
    sent = OfferDecision.outcome == "send"
    today = (OfferDecision.decided_at >= start, OfferDecision.decided_at < end)

    def count(*where: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(OfferDecision).where(sent, *where)
        return int(session.scalar(query) or 0)

    usage: dict[str, RuleUsage] = {}
    rows = session.execute(
        select(
            OfferDecision.rule_id,
            OfferDecision.currency,
            func.count(),
            func.sum(OfferDecision.liability),
        )
        .where(sent, OfferDecision.store_id == store_id, *today)
        .group_by(OfferDecision.rule_id, OfferDecision.currency)
    )
    for rule_id, currency, offers, liability in rows:
        spent = None
        if currency is not None and liability is not None:
            amount = round_money(Decimal(str(liability)), currency)
            spent = Money(amount, currency)
        previous = usage.get(rule_id, RuleUsage())
        usage[rule_id] = RuleUsage(previous.offers + int(offers), previous.liability or spent)
    decided = session.scalars(
        select(OfferDecision.rule_id)
        .where(
            OfferDecision.visit_id == visit_id,
            or_(sent, OfferDecision.reason == "held_out"),
        )
        .distinct()
    )
    return OfferHistory(
        customer_sent_this_visit=count(
            OfferDecision.customer_id == customer_id, OfferDecision.visit_id == visit_id
        ),
        customer_sent_today=count(OfferDecision.customer_id == customer_id, *today),
        customer_last_sent_at=session.scalar(
            select(func.max(OfferDecision.decided_at)).where(
                sent, OfferDecision.customer_id == customer_id
            )
        ),
        store_sent_today=count(OfferDecision.store_id == store_id, *today),
        rule_usage_today=usage,
        rules_decided_this_visit=frozenset(decided),
    )


def previous_visit_at(session: Session, customer_id: str, visit_id: str) -> datetime | None:
    """When the customer's visit before this one began (any store), if they had one."""
    current = session.get(Visit, visit_id)
    query = select(func.max(Visit.arrived_at)).where(
        Visit.customer_id == customer_id, Visit.id != visit_id
    )
    if current is not None:
        query = query.where(Visit.arrived_at < current.arrived_at)
    return session.scalar(query)
