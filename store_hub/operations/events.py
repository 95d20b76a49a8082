"""What the presence step hands on: immutable facts about visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class VisitStarted:
    """A shopper arrived: a new visit was opened."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    arrived_at: datetime
    agent_id: str
    # `zone` is the zone's display name (what the tablet shows); `zone_id` the stable key.
    zone: str | None
    zone_id: str | None = None


@dataclass(frozen=True)
class VisitResumed:
    """A shopper came back within the re-entry window: their last visit goes on."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    resumed_at: datetime
    agent_id: str
    zone: str | None
    zone_id: str | None = None


@dataclass(frozen=True)
class VisitEnded:
    """A shopper left: their visit was closed."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    departed_at: datetime
    last_seen: datetime


VisitEvent = VisitStarted | VisitResumed | VisitEnded
