"""From validated sightings reports to persisted visits and visit events.

Owns the identity table and the presence tracker. Everything here runs on the ingest worker
thread, except device changes from the enrollment API, hence the lock.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from beacon_agent.protocol import SightingsReport
from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Visit
from store_hub.domain.agent_clocks import AgentClocks
from store_hub.domain.identity import EidTable, EnrolledDevice
from store_hub.domain.presence import Arrived, Departed, PresenceEvent, PresenceTracker
from store_hub.operations.events import VisitEnded, VisitStarted

log = logging.getLogger(__name__)

VisitEvent = VisitStarted | VisitEnded
# QoS 1 redelivers; remembering this many recent (boot_id, seq) pairs per agent is plenty.
_DEDUPE_WINDOW = 4096


class PresenceService:
    """Resolves tokens, tracks who is present, and keeps visits in the database."""

    def __init__(
        self,
        db: Database,
        store_id: str,
        away_timeout: timedelta,
        publish: Callable[[VisitEvent], None],
    ) -> None:
        self._db = db
        self._store_id = store_id
        self._publish = publish
        self._lock = threading.Lock()
        self._table = EidTable()
        self._tracker = PresenceTracker(away_timeout)
        self._clocks = AgentClocks()
        # A report that comes later than this (flushed from an agent's spool after an outage)
        # says nothing about who is here now: the away timeout has settled it either way.
        self._late_bound = away_timeout
        self._visit_by_device: dict[str, tuple[str, str]] = {}
        self._seen_reports: dict[str, dict[tuple[str, int], None]] = {}
        self.counters: Counter[str] = Counter()

    def load(self, now: datetime) -> None:
        """Fill the EID table from the database and take back visits left open by a restart."""
        with self._db.transaction() as session:
            devices = repo.active_devices(session)
            visits = repo.open_visits(session, self._store_id)
        with self._lock:
            for device in devices:
                self._table.add(device, now)
            for visit in visits:
                self._visit_by_device[visit.device_id] = (visit.id, visit.customer_id)
                self._tracker.restore(visit.device_id, visit.last_seen)
        log.info("identity table: %d devices; %d open visits restored", len(devices), len(visits))

    def device_changed(self, device: EnrolledDevice, now: datetime) -> None:
        """Enrollment, consent change or revocation takes effect on the next report."""
        with self._lock:
            if device.presence_consent:
                self._table.add(device, now)
            else:
                self._table.remove(device.device_id)

    def handle_report(self, report: SightingsReport, now: datetime) -> None:
        """Apply one agent report; duplicates (QoS 1 redelivery) change nothing."""
        if report.store_id != self._store_id:
            self.counters["other_store"] += 1
            return
        with self._lock:
            if self._is_duplicate(report):
                self.counters["duplicate"] += 1
                return
            timing = self._clocks.observe(report.agent_id, report.sent_at, now)
            if timing.lateness > self._late_bound:
                self.counters["late_report"] += 1
                return
            events: list[PresenceEvent] = []
            touched: dict[str, datetime] = {}
            for sighting in report.sightings:
                device_id = self._table.resolve(sighting.token)
                if device_id is None:
                    self.counters["unknown_token"] += 1
                    continue
                seen_at = timing.to_hub(sighting.last_seen)
                events += self._tracker.heard(
                    device_id, report.agent_id, None, sighting.rssi, seen_at
                )
                touched[device_id] = seen_at
            for token in report.departed:
                device_id = self._table.resolve(token)
                if device_id is not None:
                    events += self._tracker.lost(
                        device_id, report.agent_id, timing.to_hub(report.sent_at)
                    )
            self.counters["reports"] += 1
            self._apply(events, touched, report.agent_id)

    def agent_clock_offsets(self) -> dict[str, float]:
        """Each agent's clock offset from the hub's, in seconds (hub minus agent)."""
        with self._lock:
            return self._clocks.offsets()

    def tick(self, now: datetime) -> None:
        """Roll EID windows forward and depart devices nobody has heard for the away timeout."""
        with self._lock:
            self._table.refresh(now)
            self._apply(self._tracker.expire(now), {}, "")

    def _is_duplicate(self, report: SightingsReport) -> bool:
        seen = self._seen_reports.setdefault(report.agent_id, {})
        key = (report.boot_id, report.seq)
        if key in seen:
            return True
        seen[key] = None
        if len(seen) > _DEDUPE_WINDOW:
            del seen[next(iter(seen))]
        return False

    def _apply(self, events: list[PresenceEvent], touched: dict[str, datetime], agent: str) -> None:
        published: list[VisitEvent] = []
        with self._db.transaction() as session:
            for event in events:
                if isinstance(event, Arrived):
                    started = self._open_visit(session, event)
                    if started is not None:
                        published.append(started)
                elif isinstance(event, Departed):
                    ended = self._close_visit(session, event)
                    if ended is not None:
                        published.append(ended)
            repo.touch_visits(
                session,
                {
                    self._visit_by_device[device_id][0]: seen
                    for device_id, seen in touched.items()
                    if device_id in self._visit_by_device
                },
            )
        for visit_event in published:
            self._publish(visit_event)

    def _open_visit(self, session: Session, event: Arrived) -> VisitStarted | None:
        device = session.get(Device, event.device_id)
        if device is None or device.revoked_at is not None:
            return None
        visit = Visit(
            id=uuid.uuid4().hex,
            store_id=self._store_id,
            device_id=device.id,
            customer_id=device.customer_id,
            arrived_at=event.at,
            last_seen=event.at,
            departed_at=None,
            zone=event.zone,
        )
        session.add(visit)
        self._visit_by_device[device.id] = (visit.id, device.customer_id)
        self.counters["arrivals"] += 1
        return VisitStarted(
            self._store_id,
            visit.id,
            device.id,
            device.customer_id,
            event.at,
            event.agent_id,
            event.zone,
        )

    def _close_visit(self, session: Session, event: Departed) -> VisitEnded | None:
        known = self._visit_by_device.pop(event.device_id, None)
        if known is None:
            return None
        visit_id, customer_id = known
        visit = session.get(Visit, visit_id)
        if visit is not None:
            visit.departed_at = event.at
            visit.last_seen = max(visit.last_seen, event.last_seen)
        self.counters["departures"] += 1
        return VisitEnded(
            self._store_id, visit_id, event.device_id, customer_id, event.at, event.last_seen
        )
