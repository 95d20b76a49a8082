"""Keeps a shopper's tablet card on the floor current while they move between zones.

While no agent hears the phone (locked, most often) the card keeps its zone with `quiet_since`
(when it was last heard), so the tablet shows it as where the shopper was last heard rather
than where they are; hearing it again, in that zone or another, clears it.

Runs on the ingest worker, synchronously: zone changes come a few times per visit and dwell
thresholds a few times per zone stay, so one small transaction and one `card_updated` each is
cheap, and the tablet sees them in the order they happened. The tablet works out the live dwell
itself from `zone_since`; `dwell_s` moves only at the configured thresholds, so a shopper
standing still does not cost a push a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Visit
from store_hub.operations.events import (
    DwellReached,
    FloorEvent,
    PresenceEvent,
    ShopperHeard,
    ShopperQuiet,
    VisitEvent,
    ZoneChanged,
)

log = logging.getLogger(__name__)

# The card fields this module owns.
ZONE_CARD_KEYS = ("zone", "zone_id", "zone_since", "dwell_s", "quiet_since")


class CardChannel(Protocol):
    """Where changed cards go (the tablets' live feed)."""

    def card_updated(self, store_id: str, card: dict[str, Any]) -> None: ...


def zone_card_fields(event: ZoneChanged) -> dict[str, Any]:
    """The card's zone fields right after the shopper entered a zone."""
    return {
        "zone": event.zone,
        "zone_id": event.to_zone_id,
        "zone_since": format_timestamp(event.at),
        "dwell_s": 0,
        "quiet_since": None,
    }


class FloorUpdates:
    """Applies zone changes and dwell to the stored card and pushes it to the tablets."""

    def __init__(self, db: Database, channel: CardChannel) -> None:
        """Write cards to `db`, push them through `channel`."""
        self._db = db
        self._channel = channel

    def on_floor_event(self, event: FloorEvent) -> None:
        """Update and push the card of the visit `event` is about."""
        fields: dict[str, Any]
        if isinstance(event, ZoneChanged):
            fields = zone_card_fields(event)
        elif isinstance(event, ShopperQuiet):
            fields = {"quiet_since": format_timestamp(event.last_heard)}
        elif isinstance(event, ShopperHeard):
            fields = {"quiet_since": None}
        else:
            fields = self._dwell_fields(event)
        card = self._update_card(event, fields)
        if card is not None:
            self._channel.card_updated(event.store_id, card)

    @staticmethod
    def _dwell_fields(event: DwellReached) -> dict[str, Any]:
        # at - seconds is exactly when the shopper entered; an arrival's card lacks it so far.
        since = event.at - timedelta(seconds=event.seconds)
        return {
            "zone": event.zone,
            "zone_id": event.zone_id,
            "zone_since": format_timestamp(since),
            "dwell_s": int(event.seconds),
        }

    def _update_card(self, event: FloorEvent, fields: dict[str, Any]) -> dict[str, Any] | None:
        with self._db.transaction() as session:
            visit = session.get(Visit, event.visit_id, with_for_update=True)
            if visit is None or visit.departed_at is not None or visit.card is None:
                # No card yet (the arrival is still being enriched, or the shopper hides from
                # tablets): the arrival's card starts from the visit as it is then.
                return None
            if isinstance(event, DwellReached) and visit.card.get("zone_id") not in (
                None,
                event.zone_id,
            ):
                return None  # a dwell of a zone the card has already left
            card = {**visit.card, **fields, "last_seen": format_timestamp(visit.last_seen)}
            visit.card = card
            return card


def route_presence_events(
    on_visit: Callable[[VisitEvent], None], on_floor: Callable[[FloorEvent], None]
) -> Callable[[PresenceEvent], None]:
    """One `publish` for PresenceService: visit events to `on_visit`, floor events to `on_floor`."""

    def publish(event: PresenceEvent) -> None:
        if isinstance(event, FloorEvent):
            try:
                on_floor(event)
            except Exception:
                # A card that failed to update is fixed by the next change or a tablet resync;
                # it must not stop the ingest worker's presence bookkeeping.
                log.exception("floor update failed for visit %s", event.visit_id)
        else:
            on_visit(event)

    return publish
