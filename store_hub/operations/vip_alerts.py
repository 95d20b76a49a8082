"""One `vip_arrived` alert per visit to every tablet of the store, when a card first qualifies.

The rule is store_hub.domain.vip's; this module makes it happen once. The card usually
qualifies when the online profile fills it in after arrival, but a background profile refresh
can make a shopper a VIP later in the visit too, so every card the arrival pipeline sends is
offered here. That the alert went out is kept on the visit's stored card (`vip_alerted_at`),
so a later card, a refresh or a hub restart finds it and stays quiet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Visit
from store_hub.domain.vip import ALERTED_KEY, vip_arrival


class VipChannel(Protocol):
    """Where the alert goes (the tablets' live feed)."""

    def vip_arrived(self, store_id: str, alert: dict[str, Any]) -> None: ...


class VipAlerts:
    """Decides, records and sends VIP arrival alerts."""

    def __init__(
        self,
        db: Database,
        channel: VipChannel,
        vip_tiers: Iterable[str],
        clock: Callable[[], datetime],
    ) -> None:
        """Alert through `channel` for shoppers in `vip_tiers` (or the vip segment)."""
        self._db = db
        self._channel = channel
        self._tiers = tuple(vip_tiers)
        self._clock = clock
        # The arrival and a profile refresh can offer the same visit at once. PostgreSQL's row
        # lock settles that across processes; SQLite takes no row locks, and a SQLite hub is a
        # single process, where this lock does.
        self._lock = threading.Lock()

    def card_sent(self, store_id: str, card: Mapping[str, Any]) -> bool:
        """Alert the store's tablets if `card` (just sent to them) is a VIP's, once per visit."""
        if vip_arrival(card, self._tiers) is None:
            return False  # the common case costs no database round trip
        with self._lock:
            alert = self._record(store_id, str(card["visit_id"]))
        if alert is None:
            return False
        self._channel.vip_arrived(store_id, alert)
        return True

    def _record(self, store_id: str, visit_id: str) -> dict[str, Any] | None:
        with self._db.transaction() as session:
            visit = session.get(Visit, visit_id, with_for_update=True)
            if (
                visit is None
                or visit.store_id != store_id
                or visit.departed_at is not None
                or visit.card is None
            ):
                return None
            device = session.get(Device, visit.device_id)
            if device is None or not device.consent_associate_view:
                return None
            # The stored card decides: it carries the flag of an alert already sent, and the
            # zone the floor updates have moved the shopper to since.
            alert = vip_arrival(visit.card, self._tiers)
            if alert is None:
                return None
            visit.card = {**visit.card, ALERTED_KEY: format_timestamp(self._clock())}
            return alert
