"""The store's zones for the tablets' floor snapshot, in floor order."""

from __future__ import annotations

from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.domain.zone_order import FloorZone, zone_payload


def floor_zones(db: Database, store_id: str) -> list[dict[str, str]]:
    """Every zone of the store as {zone_id, name, kind}, entrance first (one query)."""
    with db.transaction() as session:
        zones = [FloorZone(z.zone_id, z.name, z.kind) for z in repo.zones(session, store_id)]
    return zone_payload(zones)
