"""Simulated opted-in phones walking through the demo store, as BLE advertisements.

Each phone advertises its real, current Eddystone-EID (computed from its identity key, as the
retailer's app would). The output is the advertisement-trace record format that `beacon-agent
replay` reads. Two kinds of walk:
- `floor_advertisements`: shoppers walking a route across the demo floor (store_hub.demo.floor),
  every agent hearing each advertisement by path loss from where the phone is; what the demo
  runs, so the hub's position tracker places shoppers in zones.
- `advertisements`: one listener and a level that rises as the shopper walks in and fades as they
  leave; for single-agent traces (the shipped walk-in trace, the agent's tests).
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from store_hub.demo import floor
from store_hub.domain.eid import compute_eid

EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
EID_FRAME = 0x30
# Eddystone's tx_power is the signal at 0 m; phones in apps typically calibrate around -20 dBm.
TX_POWER_0M = -20
ADVERTISING_INTERVAL_S = 0.5
NOISE_DB = 2.5


@dataclass(frozen=True)
class Visit:
    """One simulated shopper's walk: when they come in and how long they stay."""

    identity_key: bytes
    rotation_exponent: int
    enter_s: float
    stay_s: float
    closest_rssi: float = -58.0


def eid_service_data(identity_key: bytes, rotation_exponent: int, moment: datetime) -> bytes:
    """Eddystone-EID service data a phone advertises at `moment` (contract section 1)."""
    eid = compute_eid(identity_key, rotation_exponent, int(moment.timestamp()))
    return bytes([EID_FRAME, TX_POWER_0M & 0xFF]) + eid


def _rssi_at(visit: Visit, offset_s: float, rng: random.Random) -> float:
    # Walk in over ~15 s, browse near the agent, walk out over ~15 s: a smooth bump plus noise.
    inside = offset_s - visit.enter_s
    edge = min(inside, visit.stay_s - inside)
    approach = min(1.0, max(0.0, edge / 15.0))
    base = -92.0 + (visit.closest_rssi + 92.0) * math.sin(approach * math.pi / 2)
    return round(base + rng.gauss(0.0, NOISE_DB))


def _random_address(rng: random.Random) -> str:
    # Phones use resolvable private addresses: the top two bits of the first octet are 01.
    first = (rng.randrange(256) & 0x3F) | 0x40
    rest = [rng.randrange(256) for _ in range(5)]
    return ":".join(f"{octet:02X}" for octet in [first, *rest])


def advertisements(
    visits: list[Visit], recorded_at: datetime, duration_s: float, seed: int = 7
) -> Iterator[dict[str, Any]]:
    """Trace records, in time order, of every phone heard during `duration_s`."""
    rng = random.Random(seed)
    addresses = [_random_address(rng) for _ in visits]
    phases = [rng.uniform(0, ADVERTISING_INTERVAL_S) for _ in visits]
    steps = int(duration_s / ADVERTISING_INTERVAL_S)
    for step in range(steps):
        heard: list[dict[str, Any]] = []
        for index, visit in enumerate(visits):
            offset = step * ADVERTISING_INTERVAL_S + phases[index]
            if not visit.enter_s <= offset <= visit.enter_s + visit.stay_s:
                continue
            rssi = _rssi_at(visit, offset, rng)
            if rssi < -95 or rng.random() < 0.1:
                continue  # too faint to hear, or a lost packet
            moment = recorded_at + timedelta(seconds=offset)
            data = eid_service_data(visit.identity_key, visit.rotation_exponent, moment)
            heard.append(_record(offset, addresses[index], rssi, data))
        yield from sorted(heard, key=lambda record: float(record["t"]))


def _record(offset_s: float, address: str, rssi: float, service_data: bytes) -> dict[str, Any]:
    return {
        "t": round(offset_s, 3),
        "address": address,
        "rssi": rssi,
        "local_name": None,
        "tx_power": None,
        "service_data": {EDDYSTONE_UUID: service_data.hex()},
        "manufacturer_data": {},
        "service_uuids": [EDDYSTONE_UUID],
    }


class Route:
    """A shopper's path across the floor as timed waypoints; straight lines in between."""

    def __init__(self, x: float, y: float, start_s: float = 0.0) -> None:
        """Start at (x, y) at `start_s` seconds into the recording."""
        self.times = [start_s]
        self.points = [(x, y)]

    @property
    def start(self) -> float:
        """When the route starts."""
        return self.times[0]

    @property
    def end(self) -> float:
        """When the route ends (the phone has gone out of range)."""
        return self.times[-1]

    def go(self, x: float, y: float, speed_mps: float) -> Route:
        """Walk in a straight line to (x, y)."""
        px, py = self.points[-1]
        self.times.append(self.end + math.hypot(x - px, y - py) / speed_mps)
        self.points.append((x, y))
        return self

    def wait(self, seconds: float) -> Route:
        """Stand still."""
        self.times.append(self.end + seconds)
        self.points.append(self.points[-1])
        return self

    def at(self, t: float) -> tuple[float, float] | None:
        """Where the phone is at t; None before the start or after the end."""
        if not self.start <= t <= self.end:
            return None
        i = bisect.bisect_right(self.times, t) - 1
        if i >= len(self.times) - 1:
            return self.points[-1]
        t0, t1 = self.times[i], self.times[i + 1]
        (x0, y0), (x1, y1) = self.points[i], self.points[i + 1]
        f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
        return x0 + f * (x1 - x0), y0 + f * (y1 - y0)

    def zones(self) -> list[str]:
        """The zones the route stops in (waits), in order, each stay once."""
        stops: list[str] = []
        for i in range(1, len(self.points)):
            zone_id = floor.zone_at(*self.points[i])
            if self.points[i] == self.points[i - 1] and zone_id and stops[-1:] != [zone_id]:
                stops.append(zone_id)
        return stops


@dataclass(frozen=True)
class Pace:
    """How demo shoppers walk: speeds, pauses and how many zones they visit."""

    walk_mps: tuple[float, float] = (1.0, 1.4)
    browse_s: tuple[float, float] = (15.0, 45.0)
    zones: tuple[int, int] = (2, 4)  # zones visited, tills included
    tills_last: float = 0.75  # share of shoppers who end at the tills
    street_m: float = 8.0  # how far out on the street a phone is first and last heard
    # Share of fitting-room stays with the phone locked (quiet) all but the first and last
    # LOCK_MARGIN_S: the tablet then shows the zone as where the shopper was last heard.
    locked_in_fitting: float = 0.5

    def __post_init__(self) -> None:
        """Reject a pace no shopper can keep."""
        if not (0 < self.walk_mps[0] <= self.walk_mps[1]):
            raise ValueError("walk_mps must be (low, high) with 0 < low <= high")
        if not (0 <= self.browse_s[0] <= self.browse_s[1]):
            raise ValueError("browse_s must be (low, high) with 0 <= low <= high")
        if not (1 <= self.zones[0] <= self.zones[1]):
            raise ValueError("zones must be (low, high) with 1 <= low <= high")
        if not (0 <= self.tills_last <= 1 and self.street_m > 0):
            raise ValueError("tills_last must be in [0, 1] and street_m > 0")
        if not 0 <= self.locked_in_fitting <= 1:
            raise ValueError("locked_in_fitting must be in [0, 1]")


# Where shoppers browse before (most of them) paying at the tills.
BROWSING_ZONES = (floor.WOMENS, floor.MENS, floor.FITTING)
# A phone is locked a little after the shopper stops, and unlocked a little before they go on.
LOCK_MARGIN_S = 3.0


def _enter(rng: random.Random, start_s: float, pace: Pace) -> Route:
    door_x, door_y = floor.DOOR
    route = Route(door_x + rng.uniform(-3, 3), door_y - pace.street_m, start_s)
    return route.go(door_x, door_y + 0.5, rng.uniform(*pace.walk_mps))


def _stop(route: Route, zone_id: str, rng: random.Random, pace: Pace) -> None:
    route.go(*floor.zone(zone_id).spot(rng), rng.uniform(*pace.walk_mps))
    route.wait(rng.uniform(*pace.browse_s))


def _leave(route: Route, rng: random.Random, pace: Pace) -> Route:
    door_x, door_y = floor.DOOR
    speed = rng.uniform(*pace.walk_mps)
    route.go(door_x, door_y + 0.5, speed)
    return route.go(door_x + rng.uniform(-6, 6), door_y - pace.street_m, speed)


def shopper_route(rng: random.Random, start_s: float, pace: Pace | None = None) -> Route:
    """A shopper's visit: in through the door, 2-4 zones with pauses (tills last for most), out."""
    pace = pace or Pace()
    route = _enter(rng, start_s, pace)
    stops = rng.randint(*pace.zones)
    tills = rng.random() < pace.tills_last
    previous = None
    for _ in range(stops - 1 if tills else stops):
        previous = rng.choice([z for z in BROWSING_ZONES if z != previous])
        _stop(route, previous, rng, pace)
    if tills:
        _stop(route, floor.TILLS, rng, pace)
    return _leave(route, rng, pace)


def walk_in_route(
    rng: random.Random, zone_id: str, stay_s: float, start_s: float, pace: Pace | None = None
) -> Route:
    """In through the door to one zone, stay there `stay_s`, and out again."""
    pace = pace or Pace()
    route = _enter(rng, start_s, pace)
    route.go(*floor.zone(zone_id).spot(rng), rng.uniform(*pace.walk_mps)).wait(stay_s)
    return _leave(route, rng, pace)


def fitting_room_locks(
    route: Route, rng: random.Random, pace: Pace | None = None
) -> tuple[tuple[float, float], ...]:
    """When the phone is locked: a share (`pace.locked_in_fitting`) of its fitting-room stays."""
    pace = pace or Pace()
    spells = []
    for i in range(1, len(route.points)):
        still = route.points[i] == route.points[i - 1]
        if still and floor.zone_at(*route.points[i]) == floor.FITTING:
            start, end = route.times[i - 1] + LOCK_MARGIN_S, route.times[i] - LOCK_MARGIN_S
            if end > start and rng.random() < pace.locked_in_fitting:
                spells.append((start, end))
    return tuple(spells)


@dataclass(frozen=True)
class FloorWalk:
    """One phone on a route across the demo floor (route times from the recording's start).

    `locked`: (start, end) spells of route time during which the phone does not advertise.
    """

    identity_key: bytes
    rotation_exponent: int
    route: Route
    locked: tuple[tuple[float, float], ...] = ()


def floor_advertisements(
    walks: list[FloorWalk], recorded_at: datetime, seed: int = 7
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(agent id, trace record) of every advertisement each demo agent heard, in time order.

    Each phone advertises every ADVERTISING_INTERVAL_S from its route's start to its end, except
    while locked; every agent hears each advertisement at the level path loss gives from where
    the phone is then (store_hub.demo.floor.heard), so the records of one agent form that
    agent's trace.
    """
    rng = random.Random(seed)
    addresses = [_random_address(rng) for _ in walks]
    # Each phone's own advertising clock, merged across phones by time.
    due = [
        (walk.route.start + rng.uniform(0, ADVERTISING_INTERVAL_S), i)
        for i, walk in enumerate(walks)
    ]
    heapq.heapify(due)
    while due:
        offset, index = heapq.heappop(due)
        walk = walks[index]
        position = walk.route.at(offset)
        if position is None:
            continue  # the route is over: the phone has left
        heapq.heappush(due, (offset + ADVERTISING_INTERVAL_S, index))
        if any(start <= offset < end for start, end in walk.locked):
            continue
        moment = recorded_at + timedelta(seconds=offset)
        data = eid_service_data(walk.identity_key, walk.rotation_exponent, moment)
        for agent_id, rssi in floor.heard(*position, rng).items():
            yield agent_id, _record(offset, addresses[index], rssi, data)
