"""Agents as the ingest sees them: reports, repeats, gaps, status and last will.

Runs on the ingest worker (never paho's network thread). Status messages are rare and written
at once; per-report numbers are counted in memory and written on the ingest's tick, so a busy
store costs one small UPDATE per agent per second rather than one per report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, update

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Agent, UtcDateTime
from store_hub.domain.report_sequence import BootSeq, ReportSequence, SeqOutcome
from store_hub.operations.topology import Topology

# The telemetry the health view names; the agent may send more, which is kept too.
TELEMETRY_FIELDS = (
    "version",
    "started_at",
    "advertisements_per_s",
    "tokens_present",
    "last_advertisement_age_s",
    "scanner_restarts",
    "spool_depth",
    "spool_dropped",
)


def _first_seen(at: datetime) -> ColumnElement[datetime]:
    # Typed, so the value goes through the same UTC conversion as the column on every backend.
    return func.coalesce(Agent.first_seen_at, literal(at, UtcDateTime()))


@dataclass
class _Pending:
    """What happened to one agent since the last flush."""

    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_report: datetime | None = None
    reports: int = 0
    duplicates: int = 0
    sequence_changed: bool = False


class AgentLedger:
    """Per-agent ingest numbers for the health view, persisted in the agent table."""

    def __init__(
        self,
        db: Database,
        topology: Topology,
        on_change: Callable[[Iterable[str]], None] | None = None,
    ) -> None:
        self._db = db
        self._topology = topology
        # Told which agents' rows changed once they are written (the live IT view).
        self._on_change = on_change or _ignore
        self._store_id = topology.store_id
        self._lock = threading.Lock()
        self._sequences: dict[str, ReportSequence] = {}
        self._pending: dict[str, _Pending] = {}
        self._saved_receivers: dict[str, float] = {}

    def load(self) -> None:
        """Take back each agent's current boot and gaps, so counting goes on across restarts,
        and the receiver offsets flush() wrote."""
        with self._db.transaction() as session:
            rows = repo.agents(session, self._store_id)
            saved = {
                a.agent_id: BootSeq(a.boot_id, a.last_seq, a.gaps)
                for a in rows
                if a.boot_id is not None and a.last_seq is not None
            }
            receivers = {
                a.agent_id: a.measured_offset_db for a in rows if a.measured_offset_db is not None
            }
        with self._lock:
            self._sequences = {agent: ReportSequence(boot) for agent, boot in saved.items()}
            self._saved_receivers = receivers

    def saved_receiver_offsets(self) -> dict[str, float]:
        """The receiver offsets as load() found them (what the tracker measured before)."""
        with self._lock:
            return dict(self._saved_receivers)

    def seen(self, agent_id: str, now: datetime) -> None:
        """Any message from the agent; an agent never heard of before is quarantined."""
        if self._topology.placement(agent_id) is None:
            self._topology.quarantine(agent_id, now)
        with self._lock:
            pending = self._pending.setdefault(agent_id, _Pending())
            pending.first_seen = pending.first_seen or now
            pending.last_seen = now

    def report(self, agent_id: str, boot_id: str, seq: int, now: datetime) -> SeqOutcome:
        """A report that is not an exact duplicate; says what its seq means."""
        self.seen(agent_id, now)
        with self._lock:
            sequence = self._sequences.setdefault(agent_id, ReportSequence())
            outcome = sequence.observe(boot_id, seq)
            pending = self._pending[agent_id]
            if outcome is SeqOutcome.REPEAT:
                pending.duplicates += 1
            else:
                pending.reports += 1
                pending.last_report = now
            pending.sequence_changed = True
            return outcome

    def duplicate(self, agent_id: str, now: datetime) -> None:
        """A report the hub already had (QoS 1 redelivery)."""
        self.seen(agent_id, now)
        with self._lock:
            self._pending[agent_id].duplicates += 1

    def gaps(self, agent_id: str) -> int:
        """Missing reports in the agent's current boot."""
        with self._lock:
            sequence = self._sequences.get(agent_id)
            current = sequence.current if sequence else None
            return current.gaps if current else 0

    def status(self, agent_id: str, status: dict[str, Any], now: datetime) -> None:
        """An agent's status or last will: written at once."""
        self.seen(agent_id, now)
        values: dict[str, Any] = {
            "status_state": status["state"],
            "status_at": now,
            "last_seen_at": now,
            "first_seen_at": _first_seen(now),
        }
        if status["state"] == "online":
            # The last will carries nothing: the last online status's telemetry stays on show.
            started = status.get("started_at")
            values["telemetry"] = {
                **status.get("telemetry", {}),
                "version": status.get("version"),
                "started_at": format_timestamp(started) if started else None,
            }
        with self._db.transaction() as session:
            session.execute(
                update(Agent)
                .where(Agent.store_id == self._store_id, Agent.agent_id == agent_id)
                .values(**values)
            )
        self._on_change([agent_id])

    def flush(
        self, clock_offsets: dict[str, float], receiver_offsets: Mapping[str, float] | None = None
    ) -> None:
        """Write what the reports since the last flush changed, and measured receiver offsets."""
        with self._lock:
            pending, self._pending = self._pending, {}
            for agent_id in receiver_offsets or {}:
                pending.setdefault(agent_id, _Pending())
            boots = {
                agent: self._sequences[agent].current
                for agent, p in pending.items()
                if p.sequence_changed and agent in self._sequences
            }
        if not pending:
            return
        with self._db.transaction() as session:
            for agent_id, p in pending.items():
                values: dict[str, Any] = {
                    "report_count": Agent.report_count + p.reports,
                    "duplicates": Agent.duplicates + p.duplicates,
                }
                if p.first_seen is not None:
                    values["first_seen_at"] = _first_seen(p.first_seen)
                if p.last_seen is not None:
                    values["last_seen_at"] = p.last_seen
                if p.last_report is not None:
                    values["last_report_at"] = p.last_report
                boot = boots.get(agent_id)
                if boot is not None:
                    values.update(boot_id=boot.boot_id, last_seq=boot.last_seq, gaps=boot.gaps)
                if agent_id in clock_offsets:
                    values["clock_offset_s"] = clock_offsets[agent_id]
                if receiver_offsets and agent_id in receiver_offsets:
                    values["measured_offset_db"] = round(receiver_offsets[agent_id], 2)
                session.execute(
                    update(Agent)
                    .where(Agent.store_id == self._store_id, Agent.agent_id == agent_id)
                    .values(**values)
                )
        self._on_change(list(pending))


def _ignore(_agent_ids: Iterable[str]) -> None:
    """No one is listening for agent changes."""


def connection_state(agent: Agent) -> str:
    """online / offline from the retained status and the last will; unknown before either."""
    return agent.status_state or "unknown"


def health_view(
    db: Database,
    topology: Topology,
    clock_offsets: dict[str, float],
    agent_ids: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Every agent of the store (or those of `agent_ids`) with approval, zone, state, numbers."""
    with db.transaction() as session:
        rows = repo.agents(session, topology.store_id)
    view = []
    for agent in rows:
        if agent_ids is not None and agent.agent_id not in agent_ids:
            continue
        telemetry = dict(agent.telemetry or {})
        view.append(
            {
                "store_id": agent.store_id,
                "agent_id": agent.agent_id,
                "approval": agent.approval,
                "state": connection_state(agent),
                "zone_id": agent.zone_id,
                "zone_name": topology.zone_name(agent.zone_id),
                "calibration_offset_db": agent.calibration_offset_db,
                "report_interval_s": agent.report_interval_s,
                "x_m": agent.x_m,
                "y_m": agent.y_m,
                "registered_at": agent.registered_at,
                "approved_at": agent.approved_at,
                "first_seen_at": agent.first_seen_at,
                "last_seen_at": agent.last_seen_at,
                "last_report_at": agent.last_report_at,
                "report_count": agent.report_count,
                "duplicates": agent.duplicates,
                "boot_id": agent.boot_id,
                "gaps": agent.gaps,
                "clock_offset_s": clock_offsets.get(agent.agent_id, agent.clock_offset_s),
                "measured_offset_db": agent.measured_offset_db,
                "status_at": agent.status_at,
                "telemetry": {key: telemetry.get(key) for key in TELEMETRY_FIELDS},
            }
        )
    return view
