"""A loud receiver measured from the traffic, written for IT and kept across a hub restart."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect

from beacon_agent.protocol import Sighting, SightingsReport
from store_hub.adapters.db.engine import Database
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.operations.agent_health import AgentLedger, health_view
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.operations.presence import PresenceService
from store_hub.operations.topology import Topology
from tests.integration.test_agent_positions import Published, _alembic
from tests.unit.test_position_tracker import level
from tests.unit.test_receiver_calibration import FLOOR, walking_the_floor

pytestmark = pytest.mark.integration
STORE = "s1"
KEY = bytes(range(16))
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
# Eddystone's power at 0 m for the tests' -61 dBm at 1 m.
TX_POWER_0M = -20


def _hub(db: Database, topology: Topology | None = None) -> PresenceService:
    topology = topology or Topology(db, STORE, Published())
    presence = PresenceService(
        db,
        STORE,
        timedelta(seconds=120),
        lambda event: None,
        topology=topology,
        agents=AgentLedger(db, topology),
    )
    presence.load(START)
    return presence


def _store(db: Database) -> None:
    topology = Topology(db, STORE, Published())
    kinds = {"entrance": "entrance", "tills": "till"}
    for zone, bounds in FLOOR.bounds.items():
        topology.put_zone(zone, zone.title(), kinds[zone], None, None, START, bounds=bounds)
    for agent_id, position in FLOOR.positions.items():
        topology.register_agent(
            agent_id, FLOOR.zones[agent_id], 0.0, None, START, position=position
        )
    with db.transaction() as session:
        enroll_device(session, "c1", Consents(True, True, True), 10, START, identity_key=KEY)


def _walk(presence: PresenceService, louder: dict[str, float], seconds: int) -> None:
    """Every agent reports the phone's advertisements of each half second (levels), as agents
    with a floor position do; the hub ticks every second."""
    rng = random.Random(5)
    seqs = dict.fromkeys(FLOOR.positions, 0)
    for step in range(2, 2 * seconds):
        for offset, (agent_id, agent) in enumerate(FLOOR.positions.items()):
            t = step / 2 + 0.11 * offset
            now = START + timedelta(seconds=t)
            levels: list[tuple[int, float]] = []
            for index, age in enumerate((-0.4, -0.2, 0.0)):
                heard = level(agent, *walking_the_floor(t + age), FLOOR) + louder.get(agent_id, 0)
                noise = rng.gauss(0, 2.5) - (6.0 if rng.random() < 0.1 else 0.0)
                levels.append((200 * index, float(round(heard + noise))))
            seqs[agent_id] += 1
            token = eid_token(compute_eid(KEY, 10, int(now.timestamp())))
            sighting = Sighting(
                token,
                sum(dbm for _, dbm in levels) / len(levels),
                len(levels),
                now - timedelta(seconds=0.4),
                now,
                TX_POWER_0M,
                levels=tuple(levels),
            )
            report = SightingsReport(STORE, agent_id, "boot", seqs[agent_id], now, (sighting,))
            presence.handle_report(report, now)
        if step % 2 == 0:
            presence.tick(START + timedelta(seconds=step / 2 + 0.5))


def _measured(db: Database) -> dict[str, Any]:
    topology = Topology(db, STORE, Published())
    topology.load()
    return {row["agent_id"]: row["measured_offset_db"] for row in health_view(db, topology, {})}


def test_a_loud_receiver_is_measured_shown_to_it_and_kept_across_a_restart(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    _store(db)
    presence = _hub(db)
    assert set(_measured(db).values()) == {None}  # not measured yet
    with caplog.at_level(logging.WARNING, "store_hub.operations.presence"):
        _walk(presence, {"till-1": 10.0}, 600)
    measured = _measured(db)
    # 10 dB louder than the others: measured as 9.8 over the loudest of them (the loop settles a
    # little short).
    others = [db_ for agent, db_ in measured.items() if agent != "till-1"]
    assert measured["till-1"] - max(others) > 8.0
    assert measured == pytest.approx(presence.receiver_offsets(), abs=0.01)
    # IT is told once to look at it.
    warnings = [r.getMessage() for r in caplog.records if "till-1 hears phones" in r.getMessage()]
    assert len(warnings) == 1 and "check it is where IT placed it" in warnings[0]

    restarted = _hub(db)
    assert restarted.receiver_offsets() == pytest.approx(measured, abs=0.01)


def test_it_setting_an_agents_calibration_is_not_corrected_twice(db: Database) -> None:
    _store(db)
    topology = Topology(db, STORE, Published())
    topology.load()
    measured = {"door-1": 0.0, "till-1": 7.5, "back-1": -2.5, "back-2": -5.0}
    ledger = AgentLedger(db, topology)
    ledger.load()
    ledger.flush({}, measured)
    presence = _hub(db, topology)
    assert presence.receiver_offsets() == pytest.approx(measured)
    # IT reads "hears +7.5 dB" and turns the agent down by that much: from now on it sends
    # levels 7.5 dB lower, so the hub must stop taking 7.5 dB off them. Nobody is in the store:
    # the hub's tick alone must follow, and write it down before a restart can lose it.
    till = FLOOR.positions["till-1"]
    topology.register_agent("till-1", "tills", -7.5, None, START, position=till)
    presence.tick(START + timedelta(seconds=1))
    after = {"door-1": 0.0, "till-1": 0.0, "back-1": -2.5, "back-2": -5.0}
    shared = sum(after.values()) / len(after)
    expected = {agent: db_ - shared for agent, db_ in after.items()}
    assert presence.receiver_offsets() == pytest.approx(expected)
    assert _measured(db) == pytest.approx(expected, abs=0.01)
    assert _hub(db).receiver_offsets() == pytest.approx(expected, abs=0.01)


def test_migration_0011_down_and_up_keeps_the_agents(db: Database) -> None:
    _store(db)
    columns = {column["name"] for column in inspect(db.engine).get_columns("agents")}
    assert "measured_offset_db" in columns
    _alembic(db, "0010", down=True)
    columns = {column["name"] for column in inspect(db.engine).get_columns("agents")}
    assert "measured_offset_db" not in columns
    _alembic(db, "head")
    assert set(_measured(db)) == set(FLOOR.positions)
