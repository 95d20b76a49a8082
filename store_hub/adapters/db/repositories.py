"""Queries and writes the hub's operations need, one function each, on a caller's session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store_hub.adapters.db.models import (
    Agent,
    Device,
    Offer,
    OfferDecision,
    PushSubscription,
    Visit,
    VisitSegment,
    Zone,
)
from store_hub.domain.identity import EnrolledDevice


def enrolled(device: Device) -> EnrolledDevice:
    """The identity view of a device row."""
    return EnrolledDevice(
        device_id=device.id,
        identity_key=device.identity_key,
        rotation_exponent=device.rotation_exponent,
        presence_consent=device.consent_presence and device.revoked_at is None,
    )


def active_devices(session: Session, batch: int = 10_000) -> Iterator[EnrolledDevice]:
    """Every device that may be resolved (not revoked, presence consent), streamed.

    Columns rather than ORM rows, fetched in batches: at a million devices a list of rows
    would hold hundreds of MB just to fill the EID table once.
    """
    rows = session.execute(
        select(Device.id, Device.identity_key, Device.rotation_exponent)
        .where(Device.revoked_at.is_(None), Device.consent_presence.is_(True))
        .execution_options(yield_per=batch)
    )
    for device_id, identity_key, rotation_exponent in rows:
        yield EnrolledDevice(device_id, identity_key, rotation_exponent, presence_consent=True)


def push_subscription(session: Session, device_id: str) -> PushSubscription | None:
    """Where offers for this device go, if anywhere."""
    return session.get(PushSubscription, device_id)


def open_visits(session: Session, store_id: str) -> list[Visit]:
    """Visits in a store that have not ended, newest first."""
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.store_id == store_id, Visit.departed_at.is_(None))
            .order_by(Visit.arrived_at.desc())
        )
    )


def open_visit_for_device(session: Session, store_id: str, device_id: str) -> Visit | None:
    """The device's visit in progress in this store, if any."""
    return session.scalars(
        select(Visit).where(
            Visit.store_id == store_id,
            Visit.device_id == device_id,
            Visit.departed_at.is_(None),
        )
    ).first()


def touch_visits(session: Session, last_seen_by_visit: dict[str, datetime]) -> None:
    """Move visits' last_seen forward (never back)."""
    for visit_id, seen in last_seen_by_visit.items():
        session.execute(
            update(Visit).where(Visit.id == visit_id, Visit.last_seen < seen).values(last_seen=seen)
        )


def set_visit_zone(session: Session, visit_id: str, zone: str | None) -> None:
    """Keep the visit's current zone."""
    session.execute(update(Visit).where(Visit.id == visit_id).values(zone=zone))


def set_card(session: Session, visit_id: str, card: dict[str, Any]) -> None:
    """Keep the tablet card of a visit."""
    session.execute(update(Visit).where(Visit.id == visit_id).values(card=card))


def offer_made_in_visit(session: Session, visit_id: str) -> bool:
    """Whether this visit already produced an offer."""
    return session.scalars(select(Offer.id).where(Offer.visit_id == visit_id)).first() is not None


def record_decision(session: Session, decision: OfferDecision) -> None:
    """Keep an offer decision for measuring (sent, or not and why)."""
    session.add(decision)


def last_departed_visit(session: Session, store_id: str, device_id: str) -> Visit | None:
    """The device's most recently ended visit in this store, if any."""
    return session.scalars(
        select(Visit)
        .where(
            Visit.store_id == store_id,
            Visit.device_id == device_id,
            Visit.departed_at.is_not(None),
        )
        .order_by(Visit.departed_at.desc())
        .limit(1)
    ).first()


def open_segment(
    session: Session, visit_id: str, zone: str, at: datetime, confidence: float | None = None
) -> VisitSegment:
    """Start the visit's time in a zone."""
    segment = VisitSegment(
        visit_id=visit_id, zone=zone, entered_at=at, left_at=None, confidence=confidence
    )
    session.add(segment)
    return segment


def close_segment(session: Session, visit_id: str, at: datetime) -> int:
    """End the visit's open zone segment (if any) at `at`; how many were closed."""
    open_ones = session.scalars(
        select(VisitSegment).where(
            VisitSegment.visit_id == visit_id, VisitSegment.left_at.is_(None)
        )
    ).all()
    for segment in open_ones:
        # A zone settled by the hub's clock after the last sighting, then left unheard, ends
        # when it began: a segment never runs backwards.
        segment.left_at = max(at, segment.entered_at)
    return len(open_ones)


def open_segments(session: Session, store_id: str) -> dict[str, VisitSegment]:
    """The open zone segment of each open visit in a store, by visit id."""
    rows = session.scalars(
        select(VisitSegment)
        .join(Visit, Visit.id == VisitSegment.visit_id)
        .where(
            Visit.store_id == store_id,
            Visit.departed_at.is_(None),
            VisitSegment.left_at.is_(None),
        )
        .order_by(VisitSegment.entered_at, VisitSegment.id)
    )
    # Ordered so that, should a visit have two open (never written so), the latest wins.
    return {segment.visit_id: segment for segment in rows}


def visit_segments(session: Session, visit_id: str) -> list[VisitSegment]:
    """A visit's zone segments in the order they began."""
    return list(
        session.scalars(
            select(VisitSegment)
            .where(VisitSegment.visit_id == visit_id)
            .order_by(VisitSegment.entered_at, VisitSegment.id)
        )
    )


def zones(session: Session, store_id: str) -> list[Zone]:
    """A store's zones by id."""
    return list(
        session.scalars(select(Zone).where(Zone.store_id == store_id).order_by(Zone.zone_id))
    )


def agents(session: Session, store_id: str) -> list[Agent]:
    """A store's agents by id, registered and quarantined."""
    return list(
        session.scalars(select(Agent).where(Agent.store_id == store_id).order_by(Agent.agent_id))
    )
