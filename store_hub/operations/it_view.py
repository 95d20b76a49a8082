"""What the live IT view sends: the store's agents and zones, ready for a JSON socket payload."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.operations.agent_health import health_view
from store_hub.operations.topology import Topology


def it_snapshot(
    db: Database, topology: Topology, clock_offsets: dict[str, float], now: datetime
) -> dict[str, Any]:
    """Everything the IT view draws from scratch: every agent with its health, and the zones."""
    with db.transaction() as session:
        zones = [
            {"zone_id": z.zone_id, "name": z.name, "kind": z.kind}
            for z in repo.zones(session, topology.store_id)
        ]
    return {
        "store_id": topology.store_id,
        "server_time": _rfc3339(now),
        "agents": agent_rows(db, topology, clock_offsets),
        "zones": zones,
    }


def agents_changed(
    db: Database,
    topology: Topology,
    agent_ids: Collection[str],
    now: datetime,
) -> dict[str, Any]:
    """The rows of some agents after they changed (their clock offsets as last written)."""
    return {
        "store_id": topology.store_id,
        "server_time": _rfc3339(now),
        "agents": agent_rows(db, topology, {}, agent_ids),
    }


def agent_rows(
    db: Database,
    topology: Topology,
    clock_offsets: dict[str, float],
    agent_ids: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """health_view's rows with times as RFC 3339 strings, which a socket payload needs."""
    return [
        {
            key: _rfc3339(value) if isinstance(value, datetime) else value
            for key, value in row.items()
        }
        for row in health_view(db, topology, clock_offsets, agent_ids)
    ]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
