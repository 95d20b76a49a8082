"""Today's numbers for the manager view: footfall, dwell by zone, the offer funnel.

"Today" is the store's calendar day in its own time zone. Each figure is one query; the little
arithmetic left (local hours, medians) runs in Python over one day's rows, which keeps the SQL
the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from store_hub.adapters.db.models import Offer, OfferDecision, Visit, VisitSegment, Zone


@dataclass(frozen=True)
class Day:
    """A store's calendar day as a half-open UTC interval."""

    date: str
    start: datetime
    end: datetime
    tz: ZoneInfo


def today(now: datetime, tz: ZoneInfo) -> Day:
    """The store's local day that holds `now`."""
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), time(), tz)
    # Midnight to midnight in local time: 23 or 25 hours on the days clocks change.
    end = datetime.combine(local.date() + timedelta(days=1), time(), tz)
    return Day(local.date().isoformat(), start, end, tz)


def footfall(session: Session, store_id: str, day: Day) -> list[dict[str, Any]]:
    """Arrivals per local hour (0-23) of the day; every hour listed, zeros included."""
    arrivals = session.scalars(
        select(Visit.arrived_at).where(
            Visit.store_id == store_id, Visit.arrived_at >= day.start, Visit.arrived_at < day.end
        )
    )
    counts = [0] * 24
    for arrived in arrivals:
        counts[arrived.astimezone(day.tz).hour] += 1
    return [{"hour": hour, "arrivals": count} for hour, count in enumerate(counts)]


def dwell_by_zone(session: Session, store_id: str, day: Day, now: datetime) -> list[dict[str, Any]]:
    """Per zone: stays that overlap the day, their median and total seconds within it."""
    rows = session.execute(
        select(VisitSegment.zone, Zone.name, VisitSegment.entered_at, VisitSegment.left_at)
        .join(Visit, Visit.id == VisitSegment.visit_id)
        .outerjoin(Zone, and_(Zone.store_id == Visit.store_id, Zone.zone_id == VisitSegment.zone))
        .where(
            Visit.store_id == store_id,
            VisitSegment.entered_at < day.end,
            or_(VisitSegment.left_at.is_(None), VisitSegment.left_at > day.start),
        )
    )
    stays: dict[str, list[float]] = {}
    names: dict[str, str] = {}
    until = min(now, day.end)
    for zone, name, entered, left in rows:
        # An open stay counts up to now; a stay across midnight counts only today's part.
        seconds = (min(left or until, until) - max(entered, day.start)).total_seconds()
        stays.setdefault(zone, []).append(max(0.0, seconds))
        names[zone] = name or zone
    return [
        {
            "zone_id": zone,
            "zone_name": names[zone],
            "stays": len(values),
            "median_s": round(median(values), 1),
            "total_s": round(sum(values), 1),
        }
        for zone, values in sorted(stays.items(), key=lambda item: -sum(item[1]))
    ]


def offer_funnel(session: Session, store_id: str, day: Day) -> dict[str, int]:
    """Eligible -> sent -> delivered -> redeemed, and held out, for decisions made today."""
    sent = OfferDecision.reason == "sent"
    row = session.execute(
        select(
            func.count(),
            func.count(case((sent, 1))),
            func.count(case((and_(sent, Offer.delivered_at.is_not(None)), 1))),
            func.count(case((and_(sent, Offer.status == "redeemed"), 1))),
            func.count(case((OfferDecision.reason == "held_out", 1))),
        )
        .select_from(OfferDecision)
        .outerjoin(Offer, Offer.id == OfferDecision.offer_id)
        .where(
            OfferDecision.store_id == store_id,
            OfferDecision.reason.in_(("sent", "held_out")),
            OfferDecision.decided_at >= day.start,
            OfferDecision.decided_at < day.end,
        )
    ).one()
    eligible, sent_n, delivered, redeemed, held_out = (int(value) for value in row)
    return {
        "eligible": eligible,
        "sent": sent_n,
        "delivered": delivered,
        "redeemed": redeemed,
        "held_out": held_out,
    }


def stats_today(session: Session, store_id: str, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Everything the manager view shows, as JSON-ready values."""
    day = today(now, tz)
    return {
        "store_id": store_id,
        "date": day.date,
        "time_zone": str(tz),
        "generated_at": now,
        "footfall": footfall(session, store_id, day),
        "dwell_by_zone": dwell_by_zone(session, store_id, day, now),
        "offer_funnel": offer_funnel(session, store_id, day),
    }
