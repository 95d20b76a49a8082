"""From validated sightings reports to persisted visits and visit events.

Owns the identity table and the zone fusion. Everything here runs on the ingest worker thread,
except device changes from the enrollment API, hence the lock. Only reports of agents IT
approved count; an unregistered agent's reports are recorded (AgentLedger) and dropped.

Fusion events become visit events: Arrived -> VisitStarted (or VisitResumed within the re-entry
window), ZoneChanged -> ZoneChanged, Dwell -> DwellReached, WentQuiet -> ShopperQuiet,
HeardAgain -> ShopperHeard, Departed -> VisitEnded. A visit's
`zone` follows the current zone and `visit_segments` keep one row per zone stay, so a restart
hands the fusion back each open visit's zone and how long it has been there.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from beacon_agent.protocol import SightingsReport
from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Visit
from store_hub.domain import fusion
from store_hub.domain.agent_clocks import AgentClocks
from store_hub.domain.fusion import FusionSettings, PresenceFusion, Reading
from store_hub.domain.identity import EidTable, EnrolledDevice
from store_hub.domain.position_tracker import FloorPlan, reference_dbm
from store_hub.domain.report_sequence import SeqOutcome
from store_hub.operations.agent_health import AgentLedger
from store_hub.operations.events import (
    DwellReached,
    PresenceEvent,
    ShopperHeard,
    ShopperQuiet,
    VisitEnded,
    VisitResumed,
    VisitStarted,
    ZoneChanged,
)
from store_hub.operations.topology import Topology

log = logging.getLogger(__name__)
# QoS 1 redelivers; remembering this many recent (boot_id, seq) pairs per agent is plenty.
_DEDUPE_WINDOW = 4096
# A visit's last_seen is written at most this often: every agent's report hears most shoppers,
# and a transaction per report only to move last_seen by a fraction of a second was most of
# the ingest's cost (bench/hub_ingest.py). Departures carry their own last_seen.
_TOUCH_EVERY = timedelta(seconds=1)
# Receivers of one model differ by a few dB; an agent this far from the others is more likely
# covered, behind metal or not where IT placed it, which the hub's correction only hides.
_FAR_RECEIVER_DB = 6.0


class PresenceService:
    """Resolves tokens, tracks who is present, and keeps visits in the database."""

    def __init__(
        self,
        db: Database,
        store_id: str,
        away_timeout: timedelta,
        publish: Callable[[PresenceEvent], None],
        *,
        topology: Topology,
        agents: AgentLedger,
        reentry_window: timedelta = timedelta(seconds=120),
        fusion_settings: FusionSettings | None = None,
        path_loss_exponent: float = FloorPlan.path_loss_exponent,
        agent_height_m: float = FloorPlan.height_m,
    ) -> None:
        """Start empty; `load` fills identity and open visits."""
        self._db = db
        self._store_id = store_id
        self._publish = publish
        self._topology = topology
        self._agents = agents
        self._reentry_window = reentry_window
        self._lock = threading.Lock()
        self._table = EidTable()
        # The hub's away timeout is the one setting the fusion shares with the rest of the hub.
        self._fusion = PresenceFusion(
            replace(
                fusion_settings or FusionSettings(), away_timeout_s=away_timeout.total_seconds()
            )
        )
        self._radio = {"path_loss_exponent": path_loss_exponent, "height_m": agent_height_m}
        self._topology_version = -1  # the topology version last followed (_follow_topology)
        self._saved_calibration = 0  # the receiver calibration's version last written
        # Each agent's calibration_offset_db as IT had set it when its receiver was measured.
        self._configured_calibrations: dict[str, float] = {}
        self._far_receivers: set[str] = set()  # agents IT has been told to check
        self._clocks = AgentClocks()
        # A report that comes later than this (flushed from an agent's spool after an outage)
        # says nothing about who is here now: the away timeout has settled it either way.
        self._late_bound = away_timeout
        self._visit_by_device: dict[str, tuple[str, str]] = {}
        self._touched: dict[str, datetime] = {}  # visit id -> last_seen last written
        self._seen_reports: dict[str, dict[tuple[str, int], None]] = {}
        self.counters: Counter[str] = Counter()

    def load(self, now: datetime) -> None:
        """Fill the EID table from the database and take back visits left open by a restart."""
        self._topology.load()
        self._agents.load()
        with self._db.transaction() as session, self._lock:
            self._table.add_many(repo.active_devices(session), now)
            # What the tracker measured of the receivers before the restart, so it does not
            # start from an uncalibrated floor (a quiet store takes many minutes to measure).
            calibration = self._fusion.calibration
            calibration.restore(self._agents.saved_receiver_offsets())
            self._saved_calibration = calibration.version
            self._configured_calibrations = self._topology.calibration_offsets()
            visits = repo.open_visits(session, self._store_id)
            segments = repo.open_segments(session, self._store_id)
            for visit in visits:
                self._visit_by_device[visit.device_id] = (visit.id, visit.customer_id)
                segment = segments.get(visit.id)
                # The open segment says where the shopper is and since when, so dwell goes on
                # counting from the real entry and thresholds already announced stay quiet.
                zone, since = (
                    (segment.zone, segment.entered_at)
                    if segment is not None
                    else (visit.zone, visit.last_seen)
                )
                # A card that says the phone went quiet is cleared when it is heard again; the
                # card's dwell is the last threshold announced, which can be after last_seen.
                card = visit.card or {}
                announced = card.get("dwell_s") if card.get("zone_id") == zone else None
                self._fusion.restore(
                    visit.device_id,
                    zone,
                    since,
                    visit.last_seen,
                    quiet=bool(card.get("quiet_since")),
                    dwell_reached_s=float(announced or 0),
                )
        log.info(
            "identity table: %d devices; %d open visits restored", len(self._table), len(visits)
        )

    def device_changed(self, device: EnrolledDevice, now: datetime) -> None:
        """Enrollment, consent change or revocation takes effect on the next report."""
        with self._lock:
            if device.presence_consent:
                self._table.add(device, now)
            else:
                self._table.remove(device.device_id)
                # Where the phone was is the most personal thing the hub holds about it: gone
                # at once, not at the departure the away timeout will bring.
                self._fusion.forget_position(device.device_id)

    def handle_report(self, report: SightingsReport, now: datetime) -> None:
        """Apply one agent report; duplicates (QoS 1 redelivery) change nothing."""
        if report.store_id != self._store_id:
            self.counters["other_store"] += 1
            return
        with self._lock:
            if self._is_duplicate(report):
                self.counters["duplicate"] += 1
                self._agents.duplicate(report.agent_id, now)
                return
            if self._agents.report(report.agent_id, report.boot_id, report.seq, now) is (
                SeqOutcome.REPEAT
            ):
                self.counters["duplicate"] += 1
                return
            timing = self._clocks.observe(report.agent_id, report.sent_at, now)
            # One dict look-up; reading it after `report` sees a just-quarantined agent too.
            placement = self._topology.placement(report.agent_id)
            if placement is None or not placement.approved:
                self.counters["quarantined"] += 1
                return
            zone_id = placement.zone_id
            if zone_id is None:  # approval always names a zone; a row edited by hand may not
                self.counters["no_zone"] += 1
                return
            if timing.lateness > self._late_bound:
                self.counters["late_report"] += 1
                return
            self._follow_topology()
            events: list[fusion.FusionEvent] = []
            touched: dict[str, datetime] = {}
            for sighting in report.sightings:
                device_id = self._table.resolve(sighting.token)
                if device_id is None:
                    self.counters["unknown_token"] += 1
                    continue
                seen_at = timing.to_hub(sighting.last_seen)
                # The agent applies its calibration offset before smoothing and to each level:
                # rssi is comparable across agents. Levels are dated from last_seen, so the
                # agent's clock offset does not matter to them.
                start = (sighting.first_seen - sighting.last_seen).total_seconds()
                events += self._fusion.observe(
                    Reading(
                        device_id,
                        report.agent_id,
                        zone_id,
                        sighting.rssi,
                        seen_at,
                        tuple((start + ms / 1000.0, dbm) for ms, dbm in sighting.levels),
                        reference_dbm(sighting.tx_power, sighting.token.startswith("eid:")),
                    )
                )
                touched[device_id] = seen_at
            for token in report.departed:
                device_id = self._table.resolve(token)
                if device_id is not None:
                    events += self._fusion.agent_lost(
                        device_id, report.agent_id, timing.to_hub(report.sent_at)
                    )
            self._apply(events, touched, (report.agent_id, zone_id))
            # Counted once applied and published, so a reader of the counter sees the effects.
            self.counters["reports"] += 1

    def _follow_topology(self) -> None:
        """Catch up with what IT changed since the last report: the floor, agents' calibration."""
        version = self._topology.version
        if version == self._topology_version:
            return
        self._topology_version = version
        self._follow_floor()
        self._follow_agent_calibrations()

    def _follow_agent_calibrations(self) -> None:
        """Move what was measured of an agent's receiver by what IT changed of its calibration."""
        configured = self._topology.calibration_offsets()
        calibration = self._fusion.calibration
        for agent_id, db in configured.items():
            before = self._configured_calibrations.get(agent_id)
            if before is not None and db != before:
                calibration.shift(agent_id, db - before)
        self._configured_calibrations = configured

    def _follow_floor(self) -> None:
        """Give the fusion the floor plan of the current topology."""
        positions = self._topology.floor_positions()
        zones = {agent_id: self._topology.placement(agent_id) for agent_id in positions}
        agent_zones = {
            agent_id: placement.zone_id
            for agent_id, placement in zones.items()
            if placement is not None and placement.zone_id is not None
        }
        bounds = {
            zone: box
            for zone, box in self._topology.zone_bounds().items()
            if zone in agent_zones.values()
        }
        plan: FloorPlan | None = None
        if len(agent_zones) >= 2:
            try:
                plan = FloorPlan(
                    {a: positions[a] for a in agent_zones},
                    agent_zones,
                    bounds,
                    outline=self._topology.store_outline(),
                    entrances=self._topology.entrance_zones(),
                    **self._radio,
                )
            except ValueError as exc:  # positions IT entered that make no plan: say so, go on
                log.warning("floor plan not used, zones by the loudest agent instead: %s", exc)
        self._fusion.set_floor(plan)
        if plan is None:
            how = "the loudest agent (fewer than two agents placed)"
        else:
            drawn = "every zone drawn: the street is told apart"
            if not plan.outlined:
                drawn = "the street is not told apart: draw every zone, place 3+ agents off a line"
            elif not plan.entrances & set(agent_zones.values()):
                drawn += "; walking out is not: place an agent in an entrance zone"
            how = f"positions ({len(agent_zones)} agents placed; {drawn})"
        log.info("zones from %s", how)

    def placed_agents(self) -> int:
        """How many agents the position tracker uses (0: zones by the loudest agent)."""
        with self._lock:
            floor = self._fusion.floor
            return 0 if floor is None else len(floor.positions)

    def present(self) -> dict[str, str | None]:
        """Each device present now and its zone id."""
        with self._lock:
            return self._fusion.present()

    def receiver_offsets(self) -> dict[str, float]:
        """Each placed agent's receiver offset as the position tracker measured it (dB)."""
        with self._lock:
            return self._fusion.calibration.offsets()

    def agent_clock_offsets(self) -> dict[str, float]:
        """Each agent's clock offset from the hub's, in seconds (hub minus agent)."""
        with self._lock:
            return self._clocks.offsets()

    def handle_status(self, agent_id: str, status: dict[str, Any], now: datetime) -> None:
        """An agent's status or last will, for the health view."""
        self._agents.status(agent_id, status, now)

    def tick(self, now: datetime) -> None:
        """Roll EID windows forward, depart devices nobody has heard, write agent numbers."""
        with self._lock:
            # Also here, not only on reports: a calibration IT changed in a quiet store must
            # reach the measured offsets, and the database, before a restart can lose it.
            self._follow_topology()
            self._table.refresh(now)
            self._apply(self._fusion.tick(now), {}, None)
            offsets = self._clocks.offsets()
            calibration = self._fusion.calibration
            receivers = None
            if calibration.version != self._saved_calibration:
                self._saved_calibration = calibration.version
                receivers = calibration.offsets()
                self._tell_far_receivers(receivers)
        self._agents.flush(offsets, receivers)

    def _tell_far_receivers(self, receivers: dict[str, float]) -> None:
        """Log once an agent that hears phones far louder or quieter than the others."""
        for agent_id, db in receivers.items():
            far = abs(db) >= _FAR_RECEIVER_DB
            if far and agent_id not in self._far_receivers:
                log.warning(
                    "agent %s hears phones %+.1f dB against the other placed agents; the hub "
                    "corrects its levels, but check it is where IT placed it and not covered, "
                    "behind metal or fallen",
                    agent_id,
                    db,
                )
                self._far_receivers.add(agent_id)
            elif not far:
                self._far_receivers.discard(agent_id)

    def _is_duplicate(self, report: SightingsReport) -> bool:
        seen = self._seen_reports.setdefault(report.agent_id, {})
        key = (report.boot_id, report.seq)
        if key in seen:
            return True
        seen[key] = None
        if len(seen) > _DEDUPE_WINDOW:
            del seen[next(iter(seen))]
        return False

    def _apply(
        self,
        events: list[fusion.FusionEvent],
        touched: dict[str, datetime],
        source: tuple[str, str] | None,
    ) -> None:
        if not events and not self._due(touched):
            return  # most ticks, and most reports: no transaction at all
        published: list[PresenceEvent] = []
        with self._db.transaction() as session:
            for event in events:
                visit_event = self._record(session, event, source)
                if visit_event is not None:
                    published.append(visit_event)
            # After the events: a visit this report opened is touched too.
            due = self._due(touched)
            repo.touch_visits(session, due)
        self._touched.update(due)
        for visit_event in published:
            self._publish(visit_event)

    def _due(self, touched: dict[str, datetime]) -> dict[str, datetime]:
        """Visits whose last_seen is worth writing: not written within _TOUCH_EVERY."""
        due: dict[str, datetime] = {}
        for device_id, seen in touched.items():
            known = self._visit_by_device.get(device_id)
            if known is None:
                continue
            written = self._touched.get(known[0])
            if written is None or seen - written >= _TOUCH_EVERY:
                due[known[0]] = seen
        return due

    def _record(
        self, session: Session, event: fusion.FusionEvent, source: tuple[str, str] | None
    ) -> PresenceEvent | None:
        if isinstance(event, fusion.Arrived):
            # Name the reporting agent only if the arrival is in its zone: a far agent's report
            # can settle an arrival that a nearer agent's reading decided.
            agent = source[0] if source is not None and source[1] == event.zone else None
            return self._resume_visit(session, event, agent) or self._open_visit(
                session, event, agent
            )
        if isinstance(event, fusion.ZoneChanged):
            return self._change_zone(session, event)
        if isinstance(event, fusion.Dwell):
            return self._dwell(event)
        if isinstance(event, fusion.WentQuiet | fusion.HeardAgain):
            return self._quiet_or_heard(event)
        return self._close_visit(session, event)

    def _resume_visit(
        self, session: Session, event: fusion.Arrived, agent_id: str | None
    ) -> VisitResumed | None:
        # A shopper who stepped out for a moment (or whose phone went quiet past the away
        # timeout) is on the same visit: no second arrival, no second offer. The database is
        # asked, not memory, so this also holds across a hub restart.
        last = repo.last_departed_visit(session, self._store_id, event.device_id)
        if last is None or last.departed_at is None:
            return None
        if event.at > last.departed_at + self._reentry_window:
            return None
        last.departed_at = None
        last.last_seen = max(last.last_seen, event.at)
        last.zone = event.zone
        repo.open_segment(session, last.id, event.zone, event.at, event.confidence)
        self._visit_by_device[event.device_id] = (last.id, last.customer_id)
        self.counters["reentries"] += 1
        return VisitResumed(
            self._store_id,
            last.id,
            event.device_id,
            last.customer_id,
            event.at,
            agent_id,
            self._topology.zone_name(event.zone),
            event.zone,
            event.confidence,
        )

    def _open_visit(
        self, session: Session, event: fusion.Arrived, agent_id: str | None
    ) -> VisitStarted | None:
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
        session.flush()  # the segment's foreign key needs the visit row first
        repo.open_segment(session, visit.id, event.zone, event.at, event.confidence)
        self._visit_by_device[device.id] = (visit.id, device.customer_id)
        self.counters["arrivals"] += 1
        return VisitStarted(
            self._store_id,
            visit.id,
            device.id,
            device.customer_id,
            event.at,
            agent_id,
            self._topology.zone_name(event.zone),
            event.zone,
            event.confidence,
        )

    def _change_zone(self, session: Session, event: fusion.ZoneChanged) -> ZoneChanged | None:
        known = self._visit_by_device.get(event.device_id)
        if known is None:
            return None  # present without a visit (revoked between sighting and arrival)
        visit_id, customer_id = known
        repo.set_visit_zone(session, visit_id, event.to_zone)
        # One row per zone stay: the old one ends exactly where the new one begins, dated from
        # when the new zone began to lead rather than when the hysteresis was satisfied, so
        # dwell reports are not skewed by the seconds the hub took to be sure.
        entered = event.entered_at or event.at
        repo.close_segment(session, visit_id, entered)
        repo.open_segment(session, visit_id, event.to_zone, entered, event.confidence)
        self.counters["zone_changes"] += 1
        return ZoneChanged(
            self._store_id,
            visit_id,
            event.device_id,
            customer_id,
            entered,
            event.from_zone,
            event.to_zone,
            self._topology.zone_name(event.to_zone) or event.to_zone,
            event.confidence,
        )

    def _dwell(self, event: fusion.Dwell) -> DwellReached | None:
        known = self._visit_by_device.get(event.device_id)
        if known is None:
            return None
        visit_id, customer_id = known
        # Segments already hold the dwell; this is the moment to tell whoever reacts to it.
        self.counters["dwell"] += 1
        log.debug(
            "visit %s: %.0f s in zone %s (threshold %.0f s)",
            visit_id,
            event.seconds,
            event.zone,
            event.threshold_s,
        )
        return DwellReached(
            self._store_id,
            visit_id,
            event.device_id,
            customer_id,
            event.at,
            event.zone,
            self._topology.zone_name(event.zone) or event.zone,
            event.seconds,
            event.threshold_s,
            event.confidence,
        )

    def _quiet_or_heard(
        self, event: fusion.WentQuiet | fusion.HeardAgain
    ) -> ShopperQuiet | ShopperHeard | None:
        known = self._visit_by_device.get(event.device_id)
        if known is None:
            return None
        visit_id, customer_id = known
        store, device = self._store_id, event.device_id
        if isinstance(event, fusion.WentQuiet):
            self.counters["quiet"] += 1
            return ShopperQuiet(store, visit_id, device, customer_id, event.at, event.last_seen)
        return ShopperHeard(store, visit_id, device, customer_id, event.at, event.confidence)

    def _close_visit(self, session: Session, event: fusion.Departed) -> VisitEnded | None:
        known = self._visit_by_device.pop(event.device_id, None)
        if known is None:
            return None
        visit_id, customer_id = known
        self._touched.pop(visit_id, None)
        visit = session.get(Visit, visit_id)
        if visit is not None:
            visit.departed_at = event.at
            visit.last_seen = max(visit.last_seen, event.last_seen)
        # The shopper was last in the zone when last heard, not when the timeout ran out.
        repo.close_segment(session, visit_id, event.last_seen)
        self.counters["departures"] += 1
        return VisitEnded(
            self._store_id, visit_id, event.device_id, customer_id, event.at, event.last_seen
        )
