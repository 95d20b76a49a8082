"""What happens when a shopper arrives: their online profile, an offer, the tablet, the phone.

Runs on a small thread pool, never on the ingest worker, so a slow online store or push service
delays nothing but this shopper's card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.commerce import CommerceConnector, CustomerSnapshot
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Visit
from store_hub.domain.card_privacy import private_card
from store_hub.domain.offer_decision import TriggerEvent
from store_hub.domain.vip import VIP_CARD_KEYS
from store_hub.operations.card_sharing import sharing_of, sharing_of_visit
from store_hub.operations.claims import ASSOCIATE_CARD_KEYS
from store_hub.operations.events import DwellReached, VisitEvent, VisitResumed, VisitStarted
from store_hub.operations.floor import ZONE_CARD_KEYS
from store_hub.operations.notes import notes_for
from store_hub.operations.offer_decisions import OfferEngine, Trigger, consents_of
from store_hub.operations.offers import offer_card
from store_hub.operations.stock import annotate, annotate_card
from store_hub.operations.vip_alerts import VipAlerts

log = logging.getLogger(__name__)


class Broadcaster(Protocol):
    """The tablets' live channel."""

    def arrived(self, store_id: str, card: dict[str, Any]) -> None: ...
    def card_updated(self, store_id: str, card: dict[str, Any]) -> None: ...
    def departed(self, store_id: str, payload: dict[str, Any]) -> None: ...


# What a card from cached data says about it; a fresh profile drops them.
CACHE_NOTE_KEYS = ("profile_cached_at", "profile_cache_reason")


def pending_card(event: VisitStarted) -> dict[str, Any]:
    """The card of a shopper who just walked in, before the online store has answered."""
    return {
        "visit_id": event.visit_id,
        "customer_id": event.customer_id,
        "device_id": event.device_id,
        "arrived_at": format_timestamp(event.arrived_at),
        "last_seen": format_timestamp(event.arrived_at),
        "zone": event.zone,
        "zone_id": event.zone_id,
        "zone_since": format_timestamp(event.arrived_at),
        "dwell_s": 0,
        "quiet_since": None,
        "profile_status": "pending",
        "profile": None,
        "wishlist": [],
        "cart": None,
        "orders": [],
        "offer": None,
    }


class ArrivalService:
    """Enriches arrivals, decides offers on arrival and on dwell, and feeds the tablets."""

    def __init__(
        self,
        db: Database,
        commerce: CommerceConnector,
        broadcaster: Broadcaster,
        offers: OfferEngine,
        deliver: Callable[[str], None],
        clock: Callable[[], datetime],
        workers: int = 8,
        vip_alerts: VipAlerts | None = None,
    ) -> None:
        """Decide with `offers`; hand each offer sent to `deliver` (which must not block)."""
        self._db = db
        self._commerce = commerce
        self._broadcaster = broadcaster
        self._offers = offers
        self._deliver = deliver
        self._clock = clock
        self._vip_alerts = vip_alerts
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arrival")

    def on_visit_event(self, event: VisitEvent) -> None:
        """Entry point from presence: hand the work to the pool and return at once."""
        if isinstance(event, VisitStarted):
            self._pool.submit(self._guarded, self.handle_arrival, event)
        elif isinstance(event, VisitResumed):
            self._pool.submit(self._guarded, self.handle_return, event)
        else:
            self._broadcaster.departed(
                event.store_id,
                {
                    "visit_id": event.visit_id,
                    "customer_id": event.customer_id,
                    "departed_at": format_timestamp(event.departed_at),
                },
            )

    def on_dwell(self, event: DwellReached) -> None:
        """Entry point from the floor: decide zone_dwell offers on the pool, if a rule has one."""
        if self._offers.has_dwell_rule(event.zone_id):
            self._pool.submit(self._guarded, self.handle_dwell, event)

    def shutdown(self) -> None:
        """Finish the arrivals in hand, then stop."""
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _guarded(self, work: Callable[[Any], None], event: Any) -> None:
        try:
            work(event)
        except Exception:
            # One shopper's failure must not stop the pool or hide from the logs.
            log.exception("arrival handling failed for visit %s", event.visit_id)

    def handle_arrival(self, event: VisitStarted) -> None:
        """Tell the tablets at once, then fill the card in with the online profile and offer."""
        with self._db.transaction() as session:
            device = session.get(Device, event.device_id)
            if device is None:
                return
            may_show = device.consent_associate_view
            consents = _consents(device)
            sharing = sharing_of(device)
        if not (may_show or "offers" in consents):
            return
        card = pending_card(event)
        if may_show:
            shown = private_card(card, sharing)
            if not self._still_open(event.visit_id, shown):
                return
            # The online store may be slow or down: the associate sees the shopper now and the
            # card fills in when the profile comes.
            self._broadcaster.arrived(event.store_id, shown)
        snapshot = self._commerce.fetch_customer(event.customer_id)
        card = {**card, **snapshot.to_card_dict()}
        card = annotate(self._db, event.store_id, card, self._clock())
        now = self._clock()
        offers = self._offers.decide(
            Trigger(
                TriggerEvent.arrived(event.visit_id, now),
                event.store_id,
                event.customer_id,
                event.device_id,
            ),
            card,
            consents,
            now,
        )
        if offers:
            card["offer"] = offer_card(offers[0], now)
        # Offers were decided on the whole card; associates get only what the shopper shares.
        final = private_card(card, sharing) if may_show else None
        if not self._still_open(event.visit_id, final):
            return
        if final is not None:
            self._broadcaster.card_updated(event.store_id, final)
            self._alert_if_vip(event.store_id, final)
        for offer in offers:
            self._deliver(offer.id)

    def handle_dwell(self, event: DwellReached) -> None:
        """Decide the zone_dwell rules of the zone the shopper has stayed in."""
        with self._db.transaction() as session:
            device = session.get(Device, event.device_id)
            visit = session.get(Visit, event.visit_id)
            if device is None or visit is None or visit.departed_at is not None:
                return
            consents = _consents(device)
            card = dict(visit.card) if visit.card is not None else None
        if card is None or card.get("hidden"):
            # Hidden from tablets (or the arrival is still running), or cleared of what the
            # shopper keeps from associates: offers are decided on the profile, cached.
            snapshot = self._commerce.fetch_customer(event.customer_id)
            card = annotate(
                self._db,
                event.store_id,
                {"customer_id": event.customer_id, **snapshot.to_card_dict()},
                self._clock(),
            )
        now = self._clock()
        offers = self._offers.decide(
            Trigger(
                TriggerEvent.zone_dwell(event.visit_id, now, event.zone_id, event.seconds),
                event.store_id,
                event.customer_id,
                event.device_id,
            ),
            card,
            consents,
            now,
        )
        for offer in offers:
            self._deliver(offer.id)

    def on_profile_refreshed(self, snapshot: CustomerSnapshot) -> None:
        """A profile refreshed in the background: update the cards of that shopper's visits."""
        online = snapshot.to_card_dict()
        updated: list[tuple[str, dict[str, Any]]] = []
        with self._db.transaction() as session:
            visits = session.scalars(
                select(Visit)
                .where(Visit.customer_id == snapshot.customer_id, Visit.departed_at.is_(None))
                # Like every other writer of the card: a claim, note or VIP mark made meanwhile
                # must not be overwritten by this copy.
                .with_for_update()
            )
            for visit in visits:
                if visit.card is None:
                    continue  # not shown on tablets (consent), or its arrival is still running
                card = {k: v for k, v in visit.card.items() if k not in CACHE_NOTE_KEYS}
                card.update(online)
                card = annotate_card(session, visit.store_id, card, self._clock())
                card = private_card(card, sharing_of_visit(session, visit))
                visit.card = card
                updated.append((visit.store_id, card))
        for store_id, card in updated:
            self._broadcaster.card_updated(store_id, card)
            self._alert_if_vip(store_id, card)

    def _alert_if_vip(self, store_id: str, card: dict[str, Any]) -> None:
        # After the card went out, so a tablet's "Show" finds it; once per visit.
        if self._vip_alerts is None:
            return
        try:
            self._vip_alerts.card_sent(store_id, card)
        except Exception:
            # The card is on the tablets already; a missed alert must not undo that.
            log.exception("VIP alert failed for visit %s", card.get("visit_id"))

    def handle_return(self, event: VisitResumed) -> None:
        """A shopper back within the re-entry window: the same card (and offer) again."""
        with self._db.transaction() as session:
            visit = session.get(Visit, event.visit_id)
            if visit is None or visit.departed_at is not None:
                return
            card = dict(visit.card) if visit.card is not None else None
            if card is not None:
                card["last_seen"] = format_timestamp(visit.last_seen)
                card["zone"] = event.zone
                card["quiet_since"] = None  # heard, or it would not be back
                visit.card = card
            arrived_at = visit.arrived_at
        if card is not None:
            # Tablets removed the card on departure; `arrived` with the same visit_id puts it
            # back, offer included, and no second offer is decided.
            self._broadcaster.arrived(event.store_id, card)
            return
        # No card yet: the first arrival never finished (or the shopper hides from tablets,
        # which handle_arrival checks again). Its offer check sees any offer already made.
        self.handle_arrival(
            VisitStarted(
                event.store_id,
                event.visit_id,
                event.device_id,
                event.customer_id,
                arrived_at,
                event.agent_id,
                event.zone,
                event.zone_id,
            )
        )

    def _still_open(self, visit_id: str, card: dict[str, Any] | None) -> bool:
        """Whether the visit is still open; if so, store `card` as its tablet card.

        The zone fields belong to the floor updates, which may have moved the shopper while
        the online store was answering: the stored ones win over this card's.
        """
        with self._db.transaction() as session:
            visit = session.get(Visit, visit_id, with_for_update=True)
            if visit is None or visit.departed_at is not None:
                return False
            if card is not None:
                card["last_seen"] = format_timestamp(visit.last_seen)
                stored = visit.card or {}
                # So do the associates' fields (who is helping, notes) set meanwhile.
                kept = (*ZONE_CARD_KEYS, *ASSOCIATE_CARD_KEYS, *VIP_CARD_KEYS)
                card.update({key: stored[key] for key in kept if key in stored})
                if not card.get("offer") and stored.get("offer"):
                    # An offer an associate sent while the online store was answering.
                    card["offer"] = stored["offer"]
                if "notes" not in card:
                    # Colleagues' notes from earlier visits show from the first full card.
                    card["notes"] = notes_for(session, visit.customer_id)
                visit.card = card
            return True


def _consents(device: Device) -> frozenset[str]:
    return consents_of(
        presence=device.consent_presence,
        offers=device.consent_offers,
        associate_view=device.consent_associate_view,
    )
