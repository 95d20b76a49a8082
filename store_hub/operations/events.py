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
    # The agent whose report settled the arrival, if it is in the arrival zone; None when the
    # hub's clock settled it (arrival waits a moment for every agent's report).
    agent_id: str | None
    # `zone` is the zone's display name (what the tablet shows); `zone_id` the stable key.
    zone: str | None
    zone_id: str | None = None
    # How sure the fusion is of the zone (0-1, see store_hub.domain.fusion.confidence).
    confidence: float | None = None


@dataclass(frozen=True)
class VisitResumed:
    """A shopper came back within the re-entry window: their last visit goes on."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    resumed_at: datetime
    agent_id: str | None
    zone: str | None
    zone_id: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class VisitEnded:
    """A shopper left: their visit was closed."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    departed_at: datetime
    last_seen: datetime


@dataclass(frozen=True)
class ZoneChanged:
    """A shopper on a visit moved to another zone (`from_zone_id` None only after a restart)."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    # When the shopper crossed over (the new zone began to lead), a moment before the hub was
    # sure of it: what the visit's zone stays record and the tablet counts dwell from.
    at: datetime
    from_zone_id: str | None
    to_zone_id: str
    zone: str  # the new zone's display name
    confidence: float


@dataclass(frozen=True)
class DwellReached:
    """A shopper has stayed in one zone for one of the configured dwell thresholds."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    at: datetime
    zone_id: str
    zone: str
    seconds: float  # in the zone when the threshold was noticed
    threshold_s: float
    confidence: float


@dataclass(frozen=True)
class ShopperQuiet:
    """No agent has heard a shopper's phone since `last_heard` (locked, most often).

    The visit and its zone go on; the zone is where the phone was last heard, not where the
    shopper is known to be.
    """

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    at: datetime
    last_heard: datetime


@dataclass(frozen=True)
class ShopperHeard:
    """A quiet phone is heard again in the zone it went quiet in (a move is a ZoneChanged)."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    at: datetime
    confidence: float


# Arrival, return and departure: what the arrival pipeline (enrich, offer, tablet) reacts to.
VisitEvent = VisitStarted | VisitResumed | VisitEnded
# Movement on the floor during a visit: what keeps the tablet's card current.
FloorEvent = ZoneChanged | DwellReached | ShopperQuiet | ShopperHeard
PresenceEvent = VisitEvent | FloorEvent
