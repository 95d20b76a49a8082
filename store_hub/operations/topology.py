"""The store's zones and agents: kept in the database, cached for the ingest, pushed to agents.

IT registers zones and agents through the API; an agent the hub hears before IT registered it is
recorded as quarantined. The ingest asks `placement(agent_id)` once per report, a single dict
look-up on a snapshot that each change replaces whole, so readers never see half an update.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Agent, Zone

log = logging.getLogger(__name__)

ZONE_KINDS = ("entrance", "fitting_room", "till", "department", "other")
APPROVED = "approved"
QUARANTINED = "quarantined"
T = TypeVar("T")


class ConfigPublisher(Protocol):
    """Where agents' configuration goes (the retained MQTT `config` topic)."""

    def publish(self, store_id: str, agent_id: str, payload: dict[str, Any]) -> None: ...


class TopologyWatcher(Protocol):
    """Told after a change is written (the live IT view); must return quickly."""

    def agents_changed(self, agent_ids: Iterable[str]) -> None: ...

    def zones_changed(self) -> None: ...


class UnknownZone(LookupError):
    """No such zone in this store."""


class UnknownAgent(LookupError):
    """No such agent in this store: never registered and never heard."""


@dataclass(frozen=True)
class Placement:
    """What the ingest needs to know about one agent."""

    approved: bool
    zone_id: str | None


@dataclass(frozen=True)
class _Snapshot:
    placements: dict[str, Placement]
    zone_names: dict[str, str]
    configs: dict[str, dict[str, Any]]


def agent_config(agent: Agent) -> dict[str, Any]:
    """The config message for an agent, as beacon_agent.config.parse_remote accepts it."""
    payload: dict[str, Any] = {
        "v": 1,
        "zone": agent.zone_id,
        "calibration_offset_db": agent.calibration_offset_db,
    }
    # Unset means "keep the agent's own": the agent applies only the keys it is sent.
    if agent.report_interval_s is not None:
        payload["report_interval_s"] = agent.report_interval_s
    return payload


def new_agent_row(store_id: str, agent_id: str, approval: str) -> Agent:
    """An agent row with nothing measured yet."""
    return Agent(
        store_id=store_id,
        agent_id=agent_id,
        approval=approval,
        zone_id=None,
        calibration_offset_db=0.0,
        report_interval_s=None,
        registered_at=None,
        approved_at=None,
        first_seen_at=None,
        last_seen_at=None,
        last_report_at=None,
        report_count=0,
        duplicates=0,
        boot_id=None,
        last_seq=None,
        gaps=0,
        clock_offset_s=None,
        status_state=None,
        status_at=None,
        telemetry=None,
    )


class Topology:
    """One store's zones and agents."""

    def __init__(self, db: Database, store_id: str, publisher: ConfigPublisher) -> None:
        self._db = db
        self._store_id = store_id
        self._publisher = publisher
        self._refresh_lock = threading.Lock()
        self._snapshot = _Snapshot({}, {}, {})
        self._watchers: list[TopologyWatcher] = []

    def watch(self, watcher: TopologyWatcher) -> None:
        """Tell `watcher` about agents quarantined, registered or approved, and zone changes."""
        self._watchers.append(watcher)

    @property
    def store_id(self) -> str:
        """The store this hub serves."""
        return self._store_id

    def load(self) -> None:
        """Read zones and agents from the database into the cache."""
        with self._refresh_lock, self._db.transaction() as session:
            zones = repo.zones(session, self._store_id)
            agents = repo.agents(session, self._store_id)
            self._snapshot = _Snapshot(
                placements={
                    a.agent_id: Placement(a.approval == APPROVED, a.zone_id) for a in agents
                },
                zone_names={z.zone_id: z.name for z in zones},
                configs={a.agent_id: agent_config(a) for a in agents if a.approval == APPROVED},
            )

    def placement(self, agent_id: str) -> Placement | None:
        """The agent's approval and zone; None if the hub has never heard of it."""
        return self._snapshot.placements.get(agent_id)

    def zone_name(self, zone_id: str | None) -> str | None:
        """A zone's display name (the zone id if the zone has none cached)."""
        if zone_id is None:
            return None
        return self._snapshot.zone_names.get(zone_id, zone_id)

    def publish_all(self) -> None:
        """Send every approved agent its config (hub start, broker reconnect)."""
        for agent_id, payload in self._snapshot.configs.items():
            self._publish(agent_id, payload)

    def put_zone(
        self,
        zone_id: str,
        name: str,
        kind: str,
        x_m: float | None,
        y_m: float | None,
        now: datetime,
    ) -> tuple[Zone, bool]:
        """Create or change a zone; True if it was created."""
        if kind not in ZONE_KINDS:
            raise ValueError(f"zone kind must be one of {', '.join(ZONE_KINDS)}")

        def work(session: Session) -> tuple[Zone, bool]:
            zone = session.get(Zone, (self._store_id, zone_id))
            created = zone is None
            if zone is None:
                zone = Zone(store_id=self._store_id, zone_id=zone_id)
                session.add(zone)
            zone.name, zone.kind, zone.x_m, zone.y_m, zone.updated_at = name, kind, x_m, y_m, now
            return zone, created

        result = self._write(work)
        self.load()
        self._tell(lambda watcher: watcher.zones_changed())
        return result

    def register_agent(
        self,
        agent_id: str,
        zone_id: str,
        calibration_offset_db: float,
        report_interval_s: float | None,
        now: datetime,
    ) -> tuple[Agent, bool]:
        """Register (or change) an agent; IT registering it approves it. True if created."""

        def work(session: Session) -> tuple[Agent, bool]:
            self._require_zone(session, zone_id)
            agent = session.get(Agent, (self._store_id, agent_id))
            created = agent is None
            if agent is None:
                agent = new_agent_row(self._store_id, agent_id, APPROVED)
                session.add(agent)
            self._approve(agent, zone_id, now)
            agent.calibration_offset_db = calibration_offset_db
            agent.report_interval_s = report_interval_s
            return agent, created

        agent, created = self._write(work)
        self.load()
        self._publish(agent_id, agent_config(agent))
        self._tell(lambda watcher: watcher.agents_changed([agent_id]))
        return agent, created

    def approve_agent(self, agent_id: str, zone_id: str, now: datetime) -> Agent:
        """Approve a quarantined agent into a zone (or move an approved one)."""

        def work(session: Session) -> Agent:
            self._require_zone(session, zone_id)
            agent = session.get(Agent, (self._store_id, agent_id))
            if agent is None:
                raise UnknownAgent(agent_id)
            self._approve(agent, zone_id, now)
            return agent

        agent = self._write(work)
        self.load()
        self._publish(agent_id, agent_config(agent))
        self._tell(lambda watcher: watcher.agents_changed([agent_id]))
        return agent

    def quarantine(self, agent_id: str, now: datetime) -> None:
        """Record an agent the hub heard but IT never registered (ingest worker)."""
        inserted = False
        try:
            with self._db.transaction() as session:
                if session.get(Agent, (self._store_id, agent_id)) is None:
                    agent = new_agent_row(self._store_id, agent_id, QUARANTINED)
                    agent.first_seen_at = agent.last_seen_at = now
                    session.add(agent)
                    inserted = True
                    log.warning(
                        "agent %s is not registered: its reports are quarantined until IT "
                        "approves it",
                        agent_id,
                    )
        except IntegrityError:
            inserted = False  # IT registered it at the same moment; the reload picks that up
        self.load()
        if inserted:
            self._tell(lambda watcher: watcher.agents_changed([agent_id]))

    def _approve(self, agent: Agent, zone_id: str, now: datetime) -> None:
        if agent.approval != APPROVED or agent.approved_at is None:
            agent.approved_at = now
        if agent.registered_at is None:
            agent.registered_at = now
        agent.approval = APPROVED
        agent.zone_id = zone_id

    def _require_zone(self, session: Session, zone_id: str) -> None:
        if session.get(Zone, (self._store_id, zone_id)) is None:
            raise UnknownZone(zone_id)

    def _write(self, work: Callable[[Session], T]) -> T:
        # The ingest may insert a quarantined row for the same agent between our read and our
        # insert; the second attempt then finds the row and updates it.
        for attempt in (1, 2):
            try:
                with self._db.transaction() as session:
                    return work(session)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _tell(self, call: Callable[[TopologyWatcher], None]) -> None:
        for watcher in self._watchers:
            try:
                call(watcher)
            except Exception:
                # The change is written; a view that missed it catches up on its next resync.
                log.exception("a topology watcher failed")

    def _publish(self, agent_id: str, payload: dict[str, Any]) -> None:
        try:
            self._publisher.publish(self._store_id, agent_id, payload)
        except Exception:
            # The database is the truth; the next hub start or reconnect publishes again.
            log.exception("could not publish the config of agent %s", agent_id)
