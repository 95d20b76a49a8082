"""Erasing a customer: everything the hub holds about them, in every table and cache.

Personal data goes: devices (with their identity keys), push subscriptions, visits with their
zone segments and tablet cards. Offer rows and offer decisions are money and measurement: the
retailer's books and the uplift figures must still add up, so they stay, unlinked from the
person (customer id replaced, device and visit links cleared, free text dropped). In-store
receipts (sales, with their lines) are the books themselves: they stay with the customer id
replaced; their lines hold products and prices, nothing about the person.

Associates' notes about the customer are personal data written about them: they are deleted.
Card views are the audit trail of which associate looked at a customer's card and when; they
answer "who accessed personal data", which stays a fair question after the data is gone (and
an erasure must not wipe the trace of a snooping colleague). So they stay, unlinked: customer
id replaced and the visit link cleared, keeping associate, store and time, nothing about the
person.

`ERASERS` maps every table that has a `customer_id` column to what happens to it; a test checks
that no such table is missing, so a table added later cannot be forgotten here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, select, update
from sqlalchemy.orm import Session

from store_hub.adapters.db.models import (
    CardView,
    CustomerNote,
    Device,
    Offer,
    OfferDecision,
    Sale,
    Visit,
)

ERASED = "erased"


@dataclass(frozen=True)
class OpenVisit:
    """A visit that was open when its shopper was erased: the tablets must drop its card."""

    store_id: str
    visit_id: str


@dataclass
class ErasureReport:
    """What an erasure touched, by table, and what the caller must still tell the live parts."""

    customer_id: str
    rows: dict[str, int] = field(default_factory=dict)
    device_ids: list[str] = field(default_factory=list)
    open_visits: list[OpenVisit] = field(default_factory=list)


def _count(session: Session, statement: Executable) -> int:
    """Run a DELETE or UPDATE and say how many rows it touched."""
    result = cast("CursorResult[Any]", session.execute(statement))
    return result.rowcount


def _visits(session: Session, customer_id: str, report: ErasureReport) -> None:
    for store_id, visit_id in session.execute(
        select(Visit.store_id, Visit.id).where(
            Visit.customer_id == customer_id, Visit.departed_at.is_(None)
        )
    ):
        report.open_visits.append(OpenVisit(store_id, visit_id))
    # Offers and decisions point at visits; unlink them before the visits (and, by cascade,
    # their zone segments) go.
    session.execute(update(Offer).where(Offer.customer_id == customer_id).values(visit_id=None))
    session.execute(
        update(OfferDecision).where(OfferDecision.customer_id == customer_id).values(visit_id=None)
    )
    report.rows["visits"] = _count(session, delete(Visit).where(Visit.customer_id == customer_id))


def _devices(session: Session, customer_id: str, report: ErasureReport) -> None:
    report.device_ids = list(
        session.scalars(select(Device.id).where(Device.customer_id == customer_id))
    )
    session.execute(update(Offer).where(Offer.customer_id == customer_id).values(device_id=None))
    # Push subscriptions go with their device (ON DELETE CASCADE).
    report.rows["devices"] = _count(
        session, delete(Device).where(Device.customer_id == customer_id)
    )


def _offers(session: Session, customer_id: str, report: ErasureReport) -> None:
    report.rows["offers"] = _count(
        session,
        update(Offer)
        .where(Offer.customer_id == customer_id)
        # The QR token carries a (salted) hash binding the offer to the customer.
        .values(customer_id=ERASED, delivery_detail=None, qr_token=None),
    )


def _decisions(session: Session, customer_id: str, report: ErasureReport) -> None:
    report.rows["offer_decisions"] = _count(
        session,
        update(OfferDecision)
        .where(OfferDecision.customer_id == customer_id)
        .values(customer_id=ERASED),
    )


def _sales(session: Session, customer_id: str, report: ErasureReport) -> None:
    report.rows["sales"] = _count(
        session, update(Sale).where(Sale.customer_id == customer_id).values(customer_id=ERASED)
    )


def _notes(session: Session, customer_id: str, report: ErasureReport) -> None:
    report.rows["customer_notes"] = _count(
        session, delete(CustomerNote).where(CustomerNote.customer_id == customer_id)
    )


def _card_views(session: Session, customer_id: str, report: ErasureReport) -> None:
    report.rows["card_views"] = _count(
        session,
        update(CardView)
        .where(CardView.customer_id == customer_id)
        .values(customer_id=ERASED, visit_id=None),
    )


# Order matters: visits and devices are unlinked from offers before offers lose the customer id
# they are found by.
ERASERS: dict[str, Callable[[Session, str, ErasureReport], None]] = {
    # Before visits: the audit rows let go of the visit themselves rather than by cascade.
    "card_views": _card_views,
    "customer_notes": _notes,
    "visits": _visits,
    "devices": _devices,
    "offers": _offers,
    "offer_decisions": _decisions,
    "sales": _sales,
}


def erase_customer(session: Session, customer_id: str) -> ErasureReport:
    """Erase a customer from every table, in the caller's transaction."""
    if customer_id == ERASED:
        raise ValueError(f"{ERASED!r} is the placeholder of erased customers, not a customer")
    report = ErasureReport(customer_id)
    for erase in ERASERS.values():
        erase(session, customer_id, report)
    return report
