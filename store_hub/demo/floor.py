"""The demo store's floor: its zones, its ceiling agents and how well each agent hears a phone.

A 30 m x 20 m store (the layout bench/accuracy.py measures zone accuracy on): the street door at
(5, 0), entrance, tills and walled fitting rooms along the front, womenswear and menswear at the
back, seven agents on the ceiling. Phones are heard by log-distance path loss, as the hub's
position tracker models it, so the demo exercises the tracker rather than a made-up signal.
Coordinates are metres, x along the street, y into the store.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# Eddystone's tx_power is the level at 0 m (the demo's phones advertise -20); the spec's 41 dB
# takes it to 1 m, which is also the hub tracker's default reference.
RSSI_1M = -20 - 41.0
PATH_LOSS_EXPONENT = 2.2  # open-plan retail floor
CEILING_M = 1.5  # agent on the ceiling, phone in a hand or pocket
NOISE_DB = 2.5
LOSS_SHARE = 0.10  # advertisements a scanner misses
SENSITIVITY_DBM = -95.0
DOOR = (5.0, 0.0)


@dataclass(frozen=True)
class DemoZone:
    """A rectangular zone of the demo floor, as IT would register it."""

    zone_id: str
    name: str
    kind: str  # one of store_hub.operations.topology.ZONE_KINDS
    bounds: tuple[float, float, float, float]  # x0, y0, x1, y1

    @property
    def centre(self) -> tuple[float, float]:
        """The middle of the rectangle: the zone's x_m, y_m."""
        x0, y0, x1, y1 = self.bounds
        return (x0 + x1) / 2, (y0 + y1) / 2

    def contains(self, x: float, y: float) -> bool:
        """Whether (x, y) lies in this zone (lower edges in, upper edges out)."""
        x0, y0, x1, y1 = self.bounds
        return x0 <= x < x1 and y0 <= y < y1

    def spot(self, rng: random.Random, margin: float = 1.0) -> tuple[float, float]:
        """A random place to stand in the zone, off its edges."""
        x0, y0, x1, y1 = self.bounds
        return rng.uniform(x0 + margin, x1 - margin), rng.uniform(y0 + margin, y1 - margin)


@dataclass(frozen=True)
class DemoAgent:
    """An agent on the ceiling above (x, y), registered to a zone."""

    agent_id: str
    zone_id: str
    position: tuple[float, float]


ENTRANCE, TILLS, FITTING, WOMENS, MENS = "entrance", "tills", "fitting", "womens", "mens"
ZONES = (
    DemoZone(ENTRANCE, "Entrance", "entrance", (0.0, 0.0, 10.0, 10.0)),
    DemoZone(TILLS, "Tills", "till", (10.0, 0.0, 20.0, 10.0)),
    DemoZone(FITTING, "Fitting rooms", "fitting_room", (20.0, 0.0, 30.0, 10.0)),
    DemoZone(WOMENS, "Womenswear", "department", (0.0, 10.0, 15.0, 20.0)),
    DemoZone(MENS, "Menswear", "department", (15.0, 10.0, 30.0, 20.0)),
)
# door-1 keeps the name the single-agent demo (and the wallet's walk-in) always had.
AGENTS = (
    DemoAgent("door-1", ENTRANCE, (5.0, 5.0)),
    DemoAgent("till-1", TILLS, (15.0, 5.0)),
    DemoAgent("fit-1", FITTING, (25.0, 5.0)),
    DemoAgent("womens-1", WOMENS, (5.0, 15.0)),
    DemoAgent("womens-2", WOMENS, (10.0, 15.0)),
    DemoAgent("mens-1", MENS, (20.0, 15.0)),
    DemoAgent("mens-2", MENS, (25.0, 15.0)),
)


def zone(zone_id: str) -> DemoZone:
    """The demo zone with this id."""
    for candidate in ZONES:
        if candidate.zone_id == zone_id:
            return candidate
    raise KeyError(zone_id)


def zone_at(x: float, y: float) -> str | None:
    """The zone id at (x, y); None outside the store (the street)."""
    for candidate in ZONES:
        if candidate.contains(x, y):
            return candidate.zone_id
    return None


def mean_rssi(agent: DemoAgent, x: float, y: float) -> float:
    """Expected level (dBm) at `agent` of a phone at (x, y): log-distance path loss."""
    ax, ay = agent.position
    distance = math.sqrt((ax - x) ** 2 + (ay - y) ** 2 + CEILING_M**2)
    return RSSI_1M - 10.0 * PATH_LOSS_EXPONENT * math.log10(distance)


def heard(x: float, y: float, rng: random.Random) -> dict[str, int]:
    """What each agent hears of one advertisement from (x, y): agent id -> RSSI.

    Agents that miss it (scan loss, or below their sensitivity) are left out.
    """
    levels: dict[str, int] = {}
    for agent in AGENTS:
        rssi = round(mean_rssi(agent, x, y) + rng.gauss(0.0, NOISE_DB))
        if rssi < SENSITIVITY_DBM or rng.random() < LOSS_SHARE:
            continue
        levels[agent.agent_id] = rssi
    return levels
