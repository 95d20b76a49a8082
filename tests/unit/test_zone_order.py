"""The floor order of a store's zones, as the tablets group shoppers by it."""

from __future__ import annotations

from store_hub.domain.zone_order import FloorZone, floor_order, zone_payload


def test_entrance_first_then_departments_fitting_rooms_tills_and_the_rest() -> None:
    zones = [
        FloorZone("till-1", "Tills", "till"),
        FloorZone("fit", "Fitting rooms", "fitting_room"),
        FloorZone("mens", "Menswear", "department"),
        FloorZone("cafe", "Café", "other"),
        FloorZone("door", "Entrance", "entrance"),
        FloorZone("knit", "Knitwear", "department"),
        FloorZone("odd", "Pop-up", "kiosk"),  # a kind the hub does not know yet: last
    ]
    assert [z.zone_id for z in floor_order(zones)] == [
        "door",
        "knit",
        "mens",
        "fit",
        "till-1",
        "cafe",
        "odd",
    ]


def test_same_kind_and_name_is_ordered_by_id_so_every_tablet_agrees() -> None:
    zones = [FloorZone("b", "Door", "entrance"), FloorZone("a", "door", "entrance")]
    assert [z.zone_id for z in floor_order(zones)] == ["a", "b"]


def test_payload_is_what_the_floor_snapshot_carries() -> None:
    assert zone_payload([FloorZone("knit", "Knitwear", "department")]) == [
        {"zone_id": "knit", "name": "Knitwear", "kind": "department"}
    ]
    assert zone_payload([]) == []
