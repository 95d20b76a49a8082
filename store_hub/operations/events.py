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
    zone: str | None


@dataclass(frozen=True)
class VisitEnded:
    """A shopper left: their visit was closed."""

    store_id: str
    visit_id: str
    device_id: str
    customer_id: str
    departed_at: datetime
    last_seen: datetime
