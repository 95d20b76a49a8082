"""A store whose agents IT placed on the floor: zones from the position tracker, over mosquitto.

Two agents 20 m apart hear a shopper walk from the entrance into the fitting rooms; their
reports carry every advertisement's level (what an agent sends once the hub's config asks). The
hub names the entrance on arrival, changes to the fitting room once, dated close to where the
shopper crossed the boundary, keeps the one visit through a restart, and ignores a replay.
With both zones drawn, the hub also knows the pavement outside is not the store.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from beacon_agent.protocol import Sighting, SightingsReport, dump_report
from store_hub.operations.events import VisitEnded, VisitStarted, ZoneChanged
from tests.fixtures.ingest_rig import STORE, Rig, sightings_topic, wait_until
from tests.fixtures.mosquitto import Broker

pytestmark = pytest.mark.integration
AGENTS = {"door-1": (5.0, 5.0), "fit-1": (25.0, 5.0)}
TX_POWER_0M = -20  # Eddystone: -61 dBm at 1 m
# Walking at 1 m/s from x = 5 from t = 10 s: the fitting room begins at x = 15, at t = 20 s.
CROSSING_S = 20.0


def x_at(t: float) -> float:
    return min(25.0, 5.0 + max(0.0, t - 10.0))


def heard(agent: tuple[float, float], where: tuple[float, float], noise: float) -> float:
    d2 = (agent[0] - where[0]) ** 2 + (agent[1] - where[1]) ** 2 + 1.5**2
    return float(round(TX_POWER_0M - 41.0 - 11.0 * math.log10(d2) + noise))


@pytest.fixture
def rig(mosquitto: Broker, tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(mosquitto, tmp_path, register=False)
    topology = rig.topology
    topology.put_zone(
        "entrance", "Entrance", "entrance", 5.0, 5.0, rig.now, bounds=(0.0, 0.0, 15.0, 10.0)
    )
    topology.put_zone(
        "fitting-1", "Fitting rooms", "fitting_room", 25.0, 5.0, rig.now, (15.0, 0.0, 30.0, 10.0)
    )
    topology.register_agent("door-1", "entrance", 0.0, None, rig.now, position=AGENTS["door-1"])
    topology.register_agent("fit-1", "fitting-1", 0.0, None, rig.now, position=AGENTS["fit-1"])
    yield rig
    rig.close()


class Walk:
    def __init__(
        self,
        rig: Rig,
        where: Callable[[float], tuple[float, float]] = lambda t: (x_at(t), 5.0),
        agents: dict[str, tuple[float, float]] = AGENTS,
    ) -> None:
        self.rig = rig
        self.where = where
        self.agents = agents
        self.t0 = rig.now
        self.seq = 0
        self.sent = 0
        self.rng = random.Random(11)
        self.last_payload = ""

    def second(self, t: int) -> None:
        """Each agent reports the five advertisements it heard in the second up to t."""
        self.rig.now = self.t0 + timedelta(seconds=t)
        for agent_id, agent in self.agents.items():
            times = [t - 0.8, t - 0.6, t - 0.4, t - 0.2, float(t)]
            levels = tuple(
                (
                    round((when - times[0]) * 1000),
                    heard(agent, self.where(when), self.rng.gauss(0, 2.5)),
                )
                for when in times
            )
            sighting = Sighting(
                token=self.rig.token(),
                rssi=sum(dbm for _, dbm in levels) / len(levels),
                samples=len(levels),
                first_seen=self.t0 + timedelta(seconds=times[0]),
                last_seen=self.rig.now,
                tx_power=TX_POWER_0M,
                levels=levels,
            )
            report = SightingsReport(STORE, agent_id, "b1", self.seq, self.rig.now, (sighting,))
            self.last_payload = json.dumps(dump_report(report))
            self.send(agent_id, self.last_payload)
        self.seq += 1
        self.rig.presence.tick(self.rig.now + timedelta(seconds=0.5))

    def send(self, agent_id: str, payload: str) -> None:
        self.rig.send(sightings_topic(agent_id), payload)
        self.sent += 1
        wait_until(lambda: self.rig.presence.counters["reports"] == self.sent)


def test_positions_place_the_shopper_and_the_visit_survives_restart_and_replay(rig: Rig) -> None:
    walk = Walk(rig)
    for t in range(1, 26):
        walk.second(t)
    assert rig.presence.placed_agents() == 2
    kinds = [type(event).__name__ for event in rig.events]
    assert kinds == ["VisitStarted", "ZoneChanged"], kinds
    started, moved = rig.events
    assert isinstance(started, VisitStarted) and isinstance(moved, ZoneChanged)
    assert started.zone_id == "entrance"
    assert (moved.from_zone_id, moved.to_zone_id) == ("entrance", "fitting-1")
    # The recorded stay starts near where the shopper crossed (the event carries entered_at).
    crossing = walk.t0 + timedelta(seconds=CROSSING_S)
    assert abs(moved.at - crossing) < timedelta(seconds=2.5)
    # The confidence is the tracker's probability of the zone, not a dB logistic.
    assert 0.5 < moved.confidence <= 1.0

    # A replayed report (QoS 1 redelivery) changes nothing.
    before = rig.presence.counters["duplicate"]
    rig.send(sightings_topic("fit-1"), walk.last_payload)
    wait_until(lambda: rig.presence.counters["duplicate"] == before + 1)

    # A hub restart mid-visit: the tracker starts again from the next levels, the visit goes on.
    rig.restart_hub()
    walk.sent = 0
    for t in range(26, 36):
        walk.second(t)
    assert [type(event).__name__ for event in rig.events] == kinds
    assert rig.presence.present() == {rig.device_id: "fitting-1"}

    # IT clearing a position takes the store back to the loudest-zone rule at the next report.
    rig.topology.register_agent("fit-1", "fitting-1", 0.0, None, rig.now)
    walk.second(36)
    assert rig.presence.placed_agents() == 0
    assert rig.presence.present() == {rig.device_id: "fitting-1"}


def test_the_street_is_not_the_store(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """Every zone is drawn, so the rectangles are the floor: y < 0 is the pavement.

    A third agent at the back of the entrance: with agents in a line the hub cannot tell.
    """
    agents = {**AGENTS, "door-2": (8.0, 9.0)}
    rig.topology.register_agent("door-2", "entrance", 0.0, None, rig.now, position=agents["door-2"])

    def where(t: float) -> tuple[float, float]:
        if t < 25:  # along the shop front, 4 m out, to the door
            return -10.0 + 0.6 * t, -4.0
        if t < 50:  # in through the door (y = 0 at t = 29), then standing in the entrance
            return 5.0, min(5.0, -4.0 + (t - 25))
        return 5.0, 5.0 - 1.2 * (t - 50)  # out again: through the door at t = 54.2

    walk = Walk(rig, where, agents)
    with caplog.at_level("INFO", logger="store_hub.operations.presence"):
        for t in range(1, 29):
            walk.second(t)
    assert rig.events == []  # heard all along the window, never a shopper
    (floor,) = [r.getMessage() for r in caplog.records if "zones from" in r.getMessage()]
    assert "the street is told apart" in floor and "walking out is not" not in floor
    for t in range(29, 54):
        walk.second(t)
    assert [type(event).__name__ for event in rig.events] == ["VisitStarted"]
    for t in range(54, 80):
        walk.second(t)
        if len(rig.events) > 1:
            break
    ended = rig.events[-1]
    assert isinstance(ended, VisitEnded), rig.events
    # Still heard on the pavement, and gone well before the 90 s away timeout.
    assert timedelta(seconds=54) < ended.departed_at - walk.t0 < timedelta(seconds=72)
    assert rig.presence.present() == {}
