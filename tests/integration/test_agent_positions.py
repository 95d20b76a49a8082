"""Agents' floor positions through the topology cache and the 0010 migration, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import MIGRATIONS, Database
from store_hub.adapters.db.models import Agent, Zone
from store_hub.operations.topology import Placement, Topology, agent_config

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class Published:
    """Keeps what the topology publishes, last message per agent, as the retained topic does."""

    def __init__(self) -> None:
        self.retained: dict[str, dict[str, Any]] = {}

    def publish(self, store_id: str, agent_id: str, payload: dict[str, Any]) -> None:
        self.retained[agent_id] = payload


def test_floor_positions_and_version_follow_each_change(db: Database) -> None:
    published = Published()
    topology = Topology(db, "s1", published)
    assert (topology.version, topology.floor_positions()) == (0, {})
    topology.put_zone("entrance", "Entrance", "entrance", 0.0, 0.0, NOW)
    topology.put_zone("fit-1", "Fitting room 1", "fitting_room", 8.0, 3.0, NOW)
    after_zones = topology.version
    assert after_zones == 2

    topology.register_agent("door-1", "entrance", 0.0, None, NOW, position=(0.5, 1.25))
    topology.register_agent("fit-1", "fit-1", -2.0, None, NOW)
    assert topology.version == after_zones + 2
    assert topology.floor_positions() == {"door-1": (0.5, 1.25)}
    assert topology.placement("door-1") == Placement(True, "entrance", (0.5, 1.25))
    assert topology.placement("fit-1") == Placement(True, "fit-1", None)
    assert published.retained["door-1"]["send_levels"] is True
    assert published.retained["fit-1"]["send_levels"] is False
    # A placed agent reports twice a second unless IT says otherwise; others once.
    assert published.retained["door-1"]["report_interval_s"] == 0.5
    assert published.retained["fit-1"]["report_interval_s"] == 1.0

    # Heard before IT registered it: quarantined, so not on the floor plan even once placed.
    topology.quarantine("shelf-2", NOW)
    assert topology.placement("shelf-2") == Placement(False, None, None)
    assert "shelf-2" not in topology.floor_positions()
    before = topology.version
    topology.approve_agent("shelf-2", "fit-1", NOW, position=(9.0, -1.5))
    assert topology.version == before + 1
    assert topology.floor_positions() == {"door-1": (0.5, 1.25), "shelf-2": (9.0, -1.5)}
    assert published.retained["shelf-2"]["send_levels"] is True

    # The returned dict is the caller's: changing it leaves the shared snapshot alone.
    topology.floor_positions().clear()
    assert len(topology.floor_positions()) == 2

    # Clearing a position takes the agent off the plan and tells it to stop sending levels.
    topology.register_agent("door-1", "entrance", 0.0, None, NOW)
    assert topology.floor_positions() == {"shelf-2": (9.0, -1.5)}
    assert published.retained["door-1"]["send_levels"] is False
    assert published.retained["door-1"]["report_interval_s"] == 1.0
    topology.register_agent("door-1", "entrance", 0.0, 2.0, NOW, position=(0.5, 1.25))
    assert published.retained["door-1"]["report_interval_s"] == 2.0  # IT's own wins
    topology.register_agent("door-1", "entrance", 0.0, None, NOW)

    # A restarted hub reads the same plan from the database, and republishes the same configs.
    restarted_published = Published()
    restarted = Topology(db, "s1", restarted_published)
    restarted.load()
    restarted.publish_all()
    assert restarted.floor_positions() == {"shelf-2": (9.0, -1.5)}
    assert restarted_published.retained == published.retained
    with db.transaction() as session:
        row = session.get(Agent, ("s1", "shelf-2"))
        assert row is not None
        assert (row.x_m, row.y_m) == (9.0, -1.5)
        assert agent_config(row) == {
            "v": 1,
            "zone": "fit-1",
            "calibration_offset_db": 0.0,
            "send_levels": True,
            "report_interval_s": 0.5,
        }


def test_zone_bounds_and_version_follow_each_change(db: Database) -> None:
    topology = Topology(db, "s1", Published())
    assert topology.zone_bounds() == {}
    topology.put_zone("entrance", "Entrance", "entrance", 0.0, 0.0, NOW)
    topology.put_zone("fit-1", "Fitting room", "fitting_room", 8.0, 3.0, NOW, bounds=(6, 0, 10, 6))
    assert topology.zone_bounds() == {"fit-1": (6.0, 0.0, 10.0, 6.0)}

    before = topology.version
    topology.put_zone("entrance", "Entrance", "entrance", 0.0, 0.0, NOW, bounds=(-2, -1, 2, 1.5))
    assert topology.version == before + 1
    assert topology.zone_bounds() == {
        "entrance": (-2.0, -1.0, 2.0, 1.5),
        "fit-1": (6.0, 0.0, 10.0, 6.0),
    }

    # The returned dict is the caller's: changing it leaves the shared snapshot alone.
    topology.zone_bounds().clear()
    assert len(topology.zone_bounds()) == 2

    # Like x_m/y_m, leaving the rectangle out of a change clears it.
    before = topology.version
    topology.put_zone("fit-1", "Fitting room", "fitting_room", 8.0, 3.0, NOW)
    assert topology.version == before + 1
    assert topology.zone_bounds() == {"entrance": (-2.0, -1.0, 2.0, 1.5)}

    # Corners out of order are refused before anything is written.
    for bad in ((2, 0, 1, 1), (0, 1, 1, 1), (0, float("nan"), 1, 1)):
        with pytest.raises(ValueError, match="must be less than"):
            topology.put_zone("fit-1", "Fitting room", "fitting_room", None, None, NOW, bounds=bad)
    assert topology.version == before + 1

    # A restarted hub reads the same rectangles from the database.
    restarted = Topology(db, "s1", Published())
    restarted.load()
    assert restarted.zone_bounds() == {"entrance": (-2.0, -1.0, 2.0, 1.5)}
    with db.transaction() as session:
        row = session.get(Zone, ("s1", "fit-1"))
        assert row is not None
        assert (row.x0_m, row.y0_m, row.x1_m, row.y1_m, row.x_m) == (None, None, None, None, 8.0)


def _alembic(db: Database, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)


def _agent_columns(db: Database) -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns("agents")}


def _zone_columns(db: Database) -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns("zones")}


BOUNDS_COLUMNS = {"x0_m", "y0_m", "x1_m", "y1_m"}


def test_migration_0010_down_and_up_keeps_the_agents_and_zones(db: Database) -> None:
    topology = Topology(db, "s1", Published())
    topology.put_zone("entrance", "Entrance", "entrance", 1.0, 0.5, NOW, bounds=(0, 0, 3, 2))
    topology.put_zone("till", "Tills", "till", None, None, NOW)
    topology.register_agent("door-1", "entrance", -3.0, 2.0, NOW, position=(1.0, 2.0))
    assert {"x_m", "y_m"} <= _agent_columns(db)
    assert _zone_columns(db) >= BOUNDS_COLUMNS

    _alembic(db, "0009", down=True)
    assert not {"x_m", "y_m"} & _agent_columns(db)
    assert not BOUNDS_COLUMNS & _zone_columns(db)
    _alembic(db, "head")
    assert {"x_m", "y_m"} <= _agent_columns(db)
    assert _zone_columns(db) >= BOUNDS_COLUMNS

    # The rows survived both ways (SQLite rebuilds the tables, the agent referring to a zone);
    # the position and rectangle are unknown again, the zones' other settings kept.
    topology.load()
    assert topology.placement("door-1") == Placement(True, "entrance", None)
    assert topology.zone_bounds() == {}
    with db.transaction() as session:
        zones = {
            z.zone_id: (z.name, z.kind, z.x_m, z.y_m, z.updated_at)
            for z in repo.zones(session, "s1")
        }
    assert zones == {
        "entrance": ("Entrance", "entrance", 1.0, 0.5, NOW),
        "till": ("Tills", "till", None, None, NOW),
    }
    with db.transaction() as session:
        row = session.get(Agent, ("s1", "door-1"))
        assert row is not None
        assert (row.calibration_offset_db, row.report_interval_s) == (-3.0, 2.0)
