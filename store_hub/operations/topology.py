"""The store's zones and agents: kept in the database, cached for the ingest, pushed to agents.

IT registers zones and agents through the API; an agent the hub hears before IT registered it is
recorded as quarantined. The ingest asks `placement(agent_id)` once per report, a single dict
look-up on a snapshot that each change replaces whole, so readers never see half an update.
The snapshot's `version` goes up with each replacement, so the ingest can tell cheaply when to
rebuild what it derives from the topology (the floor plan of agents' positions).
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

from beacon_agent.config import AgentConfig
from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Agent, Zone

log = logging.getLogger(__name__)

# Seconds between reports of an agent with a floor position, unless IT sets its own.
PLACED_REPORT_INTERVAL_S = 0.5
ZONE_KINDS = ("entrance", "fitting_room", "till", "department", "other")
APPROVED = "approved"
QUARANTINED = "quarantined"
T = TypeVar("T")
# A zone's rectangle on the floor: (x0, y0, x1, y1) in metres, x0 < x1 and y0 < y1.
Bounds = tuple[float, float, float, float]


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
    # Metres in the zones' frame; None until IT measures where the device is.
    position: tuple[float, float] | None = None


@dataclass(frozen=True)
class _Snapshot:
    placements: dict[str, Placement]
    zone_names: dict[str, str]
    configs: dict[str, dict[str, Any]]
    floor_positions: dict[str, tuple[float, float]]
    zone_bounds: dict[str, Bounds]
    outline: tuple[Bounds, ...]
    entrances: frozenset[str]
    version: int


def agent_position(agent: Agent) -> tuple[float, float] | None:
    """The agent's floor position, or None unless IT set both coordinates."""
    if agent.x_m is None or agent.y_m is None:
        return None
    return (agent.x_m, agent.y_m)


def bounds_of(zone: Zone) -> Bounds | None:
    """The zone's rectangle on the floor, or None unless IT drew all four sides."""
    if zone.x0_m is None or zone.y0_m is None or zone.x1_m is None or zone.y1_m is None:
        return None
    return (zone.x0_m, zone.y0_m, zone.x1_m, zone.y1_m)


def check_bounds(bounds: Bounds) -> None:
    """Refuse a rectangle whose corners are not (lower x, lower y, higher x, higher y)."""
    x0, y0, x1, y1 = bounds
    # Written as "not <" so NaN is refused too.
    if not x0 < x1:
        raise ValueError(f"x0 ({x0}) must be less than x1 ({x1}): bounds are [x0, y0, x1, y1]")
    if not y0 < y1:
        raise ValueError(f"y0 ({y0}) must be less than y1 ({y1}): bounds are [x0, y0, x1, y1]")


def agent_config(agent: Agent) -> dict[str, Any]:
    """The config message for an agent, as beacon_agent.config.parse_remote accepts it."""
    payload: dict[str, Any] = {
        "v": 1,
        "zone": agent.zone_id,
        "calibration_offset_db": agent.calibration_offset_db,
        # Always sent, false too: an agent whose position was cleared must stop sending levels.
        "send_levels": agent_position(agent) is not None,
    }
    # Always sent, because an agent keeps the last value it was pushed: IT's own, else the
    # default for how the hub uses the agent. A placed agent feeds the position tracker, which
    # places shoppers sooner from levels twice a second (bench/README.md, "Position tracker").
    if agent.report_interval_s is not None:
        payload["report_interval_s"] = agent.report_interval_s
    elif agent_position(agent) is not None:
        payload["report_interval_s"] = PLACED_REPORT_INTERVAL_S
    else:
        payload["report_interval_s"] = AgentConfig().report_interval_s
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
        self._snapshot = _Snapshot({}, {}, {}, {}, {}, (), frozenset(), 0)
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
            placements = {
                a.agent_id: Placement(a.approval == APPROVED, a.zone_id, agent_position(a))
                for a in agents
            }
            drawn = {z.zone_id: bounds for z in zones if (bounds := bounds_of(z)) is not None}
            self._snapshot = _Snapshot(
                placements=placements,
                zone_names={z.zone_id: z.name for z in zones},
                configs={a.agent_id: agent_config(a) for a in agents if a.approval == APPROVED},
                floor_positions={
                    agent_id: p.position
                    for agent_id, p in placements.items()
                    if p.approved and p.zone_id is not None and p.position is not None
                },
                zone_bounds=drawn,
                outline=tuple(drawn.values()) if zones and len(drawn) == len(zones) else (),
                entrances=frozenset(z.zone_id for z in zones if z.kind == "entrance"),
                version=self._snapshot.version + 1,
            )

    def placement(self, agent_id: str) -> Placement | None:
        """The agent's approval, zone and position; None if the hub has never heard of it."""
        return self._snapshot.placements.get(agent_id)

    @property
    def version(self) -> int:
        """Goes up each time the snapshot is replaced; read it before `floor_positions()`."""
        return self._snapshot.version

    def floor_positions(self) -> dict[str, tuple[float, float]]:
        """Approved agents that have a zone and a floor position, by agent id."""
        # A copy: the snapshot is shared by every reader and must never change in place.
        return dict(self._snapshot.floor_positions)

    def calibration_offsets(self) -> dict[str, float]:
        """The dB each approved agent adds to what it hears, as IT set it; read `version` first."""
        return {
            agent_id: float(config["calibration_offset_db"])
            for agent_id, config in self._snapshot.configs.items()
        }

    def zone_bounds(self) -> dict[str, Bounds]:
        """Zones whose rectangle IT drew, by zone id; read `version` first, as for positions."""
        # A copy, for the same reason as floor_positions().
        return dict(self._snapshot.zone_bounds)

    def store_outline(self) -> tuple[Bounds, ...]:
        """Every zone's rectangle once IT drew them all (the store's floor), else empty."""
        return self._snapshot.outline

    def entrance_zones(self) -> frozenset[str]:
        """The zones of kind entrance, by id."""
        return self._snapshot.entrances

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
        bounds: Bounds | None = None,
    ) -> tuple[Zone, bool]:
        """Create or change a zone; True if it was created.

        Every setting is replaced: bounds None clears the zone's rectangle, as x_m/y_m None
        clear its point.
        """
        if kind not in ZONE_KINDS:
            raise ValueError(f"zone kind must be one of {', '.join(ZONE_KINDS)}")
        if bounds is not None:
            check_bounds(bounds)

        def work(session: Session) -> tuple[Zone, bool]:
            zone = session.get(Zone, (self._store_id, zone_id))
            created = zone is None
            if zone is None:
                zone = Zone(store_id=self._store_id, zone_id=zone_id)
                session.add(zone)
            zone.name, zone.kind, zone.x_m, zone.y_m, zone.updated_at = name, kind, x_m, y_m, now
            zone.x0_m, zone.y0_m, zone.x1_m, zone.y1_m = (
                bounds if bounds is not None else (None, None, None, None)
            )
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
        position: tuple[float, float] | None = None,
    ) -> tuple[Agent, bool]:
        """Register (or change) an agent; IT registering it approves it. True if created.

        Like the other settings, the position is replaced: None clears it.
        """

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
            agent.x_m, agent.y_m = position if position is not None else (None, None)
            return agent, created

        agent, created = self._write(work)
        self.load()
        self._publish(agent_id, agent_config(agent))
        self._tell(lambda watcher: watcher.agents_changed([agent_id]))
        return agent, created

    def approve_agent(
        self,
        agent_id: str,
        zone_id: str,
        now: datetime,
        position: tuple[float, float] | None = None,
    ) -> Agent:
        """Approve a quarantined agent into a zone (or move an approved one).

        A position places it on the floor too; None keeps the one it has, as approving keeps
        the other settings.
        """

        def work(session: Session) -> Agent:
            self._require_zone(session, zone_id)
            agent = session.get(Agent, (self._store_id, agent_id))
            if agent is None:
                raise UnknownAgent(agent_id)
            self._approve(agent, zone_id, now)
            if position is not None:
                agent.x_m, agent.y_m = position
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
