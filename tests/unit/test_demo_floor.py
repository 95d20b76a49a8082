"""The demo store's floor and its shoppers' walks: levels by path loss, routes across zones."""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from beacon_agent.frames import FrameParser
from beacon_agent.sources import payloads
from store_hub.demo import floor
from store_hub.demo.walks import (
    FloorWalk,
    Pace,
    Route,
    fitting_room_locks,
    floor_advertisements,
    shopper_route,
    walk_in_route,
)
from store_hub.domain.position_tracker import FloorPlan, PositionTracker, TrackerSettings
from store_hub.operations.topology import ZONE_KINDS, check_bounds

RECORDED_AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
KEY = bytes(range(16))
AGENTS = {agent.agent_id: agent for agent in floor.AGENTS}


def test_the_floor_is_what_it_registers_with_the_hub() -> None:
    assert [z.name for z in floor.ZONES] == [
        "Entrance",
        "Tills",
        "Fitting rooms",
        "Womenswear",
        "Menswear",
    ]
    for zone in floor.ZONES:
        assert zone.kind in ZONE_KINDS
        check_bounds(zone.bounds)
        assert floor.zone_at(*zone.centre) == zone.zone_id
    for agent in floor.AGENTS:
        assert floor.zone_at(*agent.position) == agent.zone_id, agent
    assert AGENTS["door-1"].zone_id == floor.ENTRANCE
    assert floor.zone_at(*floor.DOOR) == floor.ENTRANCE
    assert floor.zone_at(floor.DOOR[0], -1.0) is None  # the street


def test_levels_fall_with_distance() -> None:
    agent = AGENTS["womens-1"]
    x, y = agent.position
    means = [floor.mean_rssi(agent, x + d, y) for d in (0, 1, 2, 5, 10, 20)]
    assert means == sorted(means, reverse=True) and len(set(means)) == len(means)
    # Right under it, only the ceiling's 1.5 m away: about the 1 m level.
    assert floor.RSSI_1M - 5 < means[0] < floor.RSSI_1M
    # 22 dB per decade of distance, the ceiling's height included.
    assert floor.mean_rssi(agent, x + 30, y - 40) - floor.mean_rssi(
        agent, x + 2, y
    ) == pytest.approx(-22.0 * math.log10(math.sqrt(50**2 + 1.5**2) / 2.5))
    # What agents hear is that, with noise, lost advertisements and a sensitivity floor.
    rng = random.Random(3)
    near = [floor.heard(x + 1, y, rng).get("womens-1") for _ in range(400)]
    far = [floor.heard(x + 40, y, rng).get("womens-1") for _ in range(400)]
    heard_near = [level for level in near if level is not None]
    heard_far = [level for level in far if level is not None]
    assert 0.8 < len(heard_near) / 400 < 0.97  # 10 % lost
    assert statistics.median(heard_near) > statistics.median(heard_far or [-200]) + 15
    assert all(level >= floor.SENSITIVITY_DBM for level in heard_near + heard_far)


def test_a_phone_in_womenswear_is_heard_loudest_by_a_womens_agent() -> None:
    rng = random.Random(5)
    spot = floor.zone(floor.WOMENS).spot(rng)
    levels: dict[str, list[int]] = defaultdict(list)
    for _ in range(200):
        for agent_id, rssi in floor.heard(*spot, rng).items():
            levels[agent_id].append(rssi)
    loudest = max(levels, key=lambda agent_id: statistics.median(levels[agent_id]))
    assert AGENTS[loudest].zone_id == floor.WOMENS
    # Every agent of the floor hears it.
    assert set(levels) == set(AGENTS)


def test_shoppers_come_in_through_the_door_visit_zones_and_leave() -> None:
    rng = random.Random(11)
    routes = [shopper_route(rng, 2.0) for _ in range(40)]
    for route in routes:
        start, end = route.at(route.start), route.at(route.end)
        assert start is not None and floor.zone_at(*start) is None
        assert end is not None and floor.zone_at(*end) is None
        stops = route.zones()
        assert 2 <= len(stops) <= 4, stops
        assert floor.ENTRANCE not in stops
        # From the street into the store through the door, not through a wall.
        first_inside = next(p for p in route.points if floor.zone_at(*p) is not None)
        assert first_inside == (floor.DOOR[0], floor.DOOR[1] + 0.5)
    ends_at_tills = sum(route.zones()[-1] == floor.TILLS for route in routes)
    assert 20 <= ends_at_tills <= 38


def test_pace_sets_how_long_a_visit_takes() -> None:
    quick = Pace(walk_mps=(3.0, 3.0), browse_s=(1.0, 1.0), zones=(2, 2))
    route = shopper_route(random.Random(1), 0.0, quick)
    assert route.end < 40
    assert len(route.zones()) == 2
    with pytest.raises(ValueError, match="walk_mps"):
        Pace(walk_mps=(0.0, 1.0))


def test_some_phones_are_locked_in_the_fitting_room_and_quiet_meanwhile() -> None:
    route = Route(5.0, -3.0).go(5.0, 0.5, 1.0).go(25.0, 5.0, 1.0).wait(30.0).go(15.0, 15.0, 1.0)
    stop = route.times[2]  # at the fitting-room spot
    always = Pace(locked_in_fitting=1.0)
    locked = fitting_room_locks(route, random.Random(1), always)
    assert locked == (pytest.approx((stop + 3.0, stop + 27.0)),)
    assert fitting_room_locks(route, random.Random(1), Pace(locked_in_fitting=0.0)) == ()
    # Only fitting-room stays: a wait in womenswear keeps the phone unlocked.
    browsing = Route(5.0, -3.0).go(5.0, 0.5, 1.0).go(6.0, 15.0, 1.0).wait(30.0)
    assert fitting_room_locks(browsing, random.Random(1), always) == ()

    records = list(floor_advertisements([FloorWalk(KEY, 10, route, locked)], RECORDED_AT, 1))
    times = sorted({float(record["t"]) for _, record in records})
    start, end = locked[0]
    assert not [t for t in times if start <= t < end]
    assert [t for t in times if stop <= t < start] and [t for t in times if end <= t]
    with pytest.raises(ValueError, match="locked_in_fitting"):
        Pace(locked_in_fitting=1.5)


def one_agent(records: list[tuple[str, dict[str, Any]]], agent_id: str) -> list[dict[str, Any]]:
    return [record for heard_by, record in records if heard_by == agent_id]


def test_every_agent_hears_the_advertisements_as_trace_records_in_time_order() -> None:
    route = Route(5.0, -3.0).go(5.0, 0.5, 1.0).go(6.0, 15.0, 1.0).wait(5.0)
    records = list(floor_advertisements([FloorWalk(KEY, 10, route)], RECORDED_AT, seed=1))
    times = [float(record["t"]) for _, record in records]
    assert times == sorted(times)
    assert route.start <= times[0] and times[-1] <= route.end
    assert {agent_id for agent_id, _ in records} == set(AGENTS)
    parser = FrameParser()
    door = one_agent(records, "door-1")
    for record in door:
        assert set(record) == {
            "t",
            "address",
            "rssi",
            "local_name",
            "tx_power",
            "service_data",
            "manufacturer_data",
            "service_uuids",
        }
        service_data, manufacturer_data, _rssi = payloads(record)
        assert parser.parse(service_data, manufacturer_data) is not None
    # One phone, one address, whichever agent heard it.
    assert len({record["address"] for _, record in records}) == 1
    # The door agent hears the phone best at the door, womens-1 at the end of the walk.
    first, last = door[: len(door) // 5], one_agent(records, "womens-1")[-5:]
    assert statistics.median(r["rssi"] for r in first) > statistics.median(
        r["rssi"] for r in door[-5:]
    )
    assert statistics.median(r["rssi"] for r in last) > -70


def test_the_hubs_tracker_puts_the_wallets_walk_in_in_womenswear() -> None:
    route = walk_in_route(random.Random(2), floor.WOMENS, 30.0, 1.0)
    plan = FloorPlan(
        {agent.agent_id: agent.position for agent in floor.AGENTS},
        {agent.agent_id: agent.zone_id for agent in floor.AGENTS},
        {zone.zone_id: zone.bounds for zone in floor.ZONES},
    )
    tracker = PositionTracker(plan, TrackerSettings(), seed=1)
    settled_at = route.times[-3] - 1.0  # standing in womenswear by then
    zones_seen = []
    for agent_id, record in floor_advertisements([FloorWalk(KEY, 10, route)], RECORDED_AT, seed=4):
        t = float(record["t"])
        if t > settled_at:
            break
        tracker.update("phone", agent_id, [(t, float(record["rssi"]))])
        probabilities = tracker.zone_probabilities("phone")
        zones_seen.append(max(probabilities, key=lambda z: probabilities[z]))
    assert zones_seen[-1] == floor.WOMENS
    assert floor.ENTRANCE in zones_seen
