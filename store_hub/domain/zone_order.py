"""The order the tablet lists a store's zones in when it groups shoppers by zone.

Pure. The order follows a shopper's walk: the entrance first, then the departments, the fitting
rooms and the tills, then anything else; zones of the same kind by name, so the order is the
same on every tablet and stable while IT renames nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Kinds as store_hub.operations.topology.ZONE_KINDS names them; an unknown kind goes last.
KIND_ORDER = ("entrance", "department", "fitting_room", "till", "other")


@dataclass(frozen=True)
class FloorZone:
    """What the tablet needs of a zone to head a group of cards."""

    zone_id: str
    name: str
    kind: str


def _rank(zone: FloorZone) -> tuple[int, str, str]:
    kind = KIND_ORDER.index(zone.kind) if zone.kind in KIND_ORDER else len(KIND_ORDER)
    return kind, zone.name.casefold(), zone.zone_id


def floor_order(zones: Iterable[FloorZone]) -> list[FloorZone]:
    """The zones in floor order: entrance first, then by kind, then by name."""
    return sorted(zones, key=_rank)


def zone_payload(zones: Iterable[FloorZone]) -> list[dict[str, str]]:
    """The `zones` of a floor snapshot, in floor order (the tablet keeps the list's order)."""
    return [{"zone_id": z.zone_id, "name": z.name, "kind": z.kind} for z in floor_order(zones)]
