"""Two agents, one shopper walking from the entrance to a fitting room, over real mosquitto.

The hub's zone fusion sees both agents' reports, names the entrance on arrival, moves the visit
to the fitting room once that agent is clearly stronger, keeps the visit, its zone and its dwell
through a hub restart, ignores a replayed report, and closes the visit and its last zone segment
when both agents say the shopper left. Hub time is injected, one report round per second.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.models import Visit
from store_hub.domain.fusion import ANY_ZONE, FusionSettings, confidence
from store_hub.operations.events import (
    DwellReached,
    ShopperQuiet,
    VisitEnded,
    VisitEvent,
    VisitStarted,
    ZoneChanged,
)
from store_hub.operations.floor import FloorUpdates, route_presence_events
from tests.fixtures.ingest_rig import Rig, sightings_topic, wait_until
from tests.fixtures.mosquitto import Broker

pytestmark = pytest.mark.integration
DOOR, FIT = sightings_topic("door-1"), sightings_topic("fit-1")
# Spelled out, so that tuning the shipped defaults does not move the moments asserted below.
ZONES = FusionSettings(
    margin_db=2.0,
    hold_s=2.0,
    clear_margin_db=5.0,
    stale_after_s=6.0,
    settle_s=1.0,
    dwell_thresholds_s={ANY_ZONE: (60.0, 300.0)},
)


@pytest.fixture
def rig(mosquitto: Broker, tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(mosquitto, tmp_path, fusion=ZONES)  # registers "entrance" with agent door-1
    rig.topology.put_zone("fitting-1", "Fitting room 1", "fitting_room", 4.0, 7.5, rig.now)
    rig.topology.register_agent("fit-1", "fitting-1", 0.0, None, rig.now)
    yield rig
    rig.close()


class Walk:
    """Both agents report once a second, door-1 first, each report processed before the next."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.t0 = rig.now
        self.seq = 0
        self.processed = 0  # reports the current PresenceService has applied
        self.payloads: dict[tuple[str, int], str] = {}

    def at(self, second: float) -> datetime:
        return self.t0 + timedelta(seconds=second)

    def round(self, second: int, door: float, fit: float) -> None:
        self.rig.now = self.at(second)
        for topic, agent, rssi in ((DOOR, "door-1", door), (FIT, "fit-1", fit)):
            self.send(topic, self.rig.report(self.seq, agent=agent, rssi=rssi), agent)
        self.seq += 1

    def departed(self, second: int) -> None:
        self.rig.now = self.at(second)
        token = self.rig.token()
        for topic, agent in ((DOOR, "door-1"), (FIT, "fit-1")):
            self.send(topic, self.rig.report(self.seq, agent=agent, departed=(token,)), agent)
        self.seq += 1

    def send(self, topic: str, payload: str, agent: str) -> None:
        self.payloads[(agent, self.seq)] = payload
        self.rig.send(topic, payload)
        self.processed += 1
        wait_until(lambda: self.rig.presence.counters["reports"] == self.processed)


def stored(rig: Rig, visit_id: str) -> tuple[Any, ...]:
    """The visit row and its zone segments, as comparable values."""
    with rig.db.transaction() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        segments = tuple(
            (s.zone, s.entered_at, s.left_at, s.confidence)
            for s in repo.visit_segments(session, visit_id)
        )
        return (visit.zone, visit.last_seen, visit.departed_at, segments)


def test_walk_from_entrance_to_fitting_room_survives_restart_and_replay(rig: Rig) -> None:
    walk = Walk(rig)
    # At the door: door-1 hears the phone 25 dB stronger. Arrival waits a second for every
    # agent's report, then names the entrance.
    for second in range(4):
        walk.round(second, door=-55.0, fit=-80.0)
    assert [type(e) for e in rig.events] == [VisitStarted]
    started = rig.events[0]
    assert isinstance(started, VisitStarted)
    assert (started.zone, started.zone_id, started.agent_id) == ("Entrance", "entrance", "door-1")
    assert started.arrived_at == walk.at(1)
    assert started.confidence == pytest.approx(confidence(25.0))

    # Walking in: fit-1 pulls ahead by 3 dB (beyond the 2 dB margin, short of the 5 dB clear
    # lead) from t=5; the zone changes only once that lead has held for 2 s.
    walk.round(4, door=-62.0, fit=-68.0)
    for second in (5, 6):
        walk.round(second, door=-66.0, fit=-63.0)
        assert [type(e) for e in rig.events] == [VisitStarted], second
    walk.round(7, door=-66.0, fit=-63.0)
    for second in range(8, 11):
        walk.round(second, door=-80.0, fit=-55.0)
    assert [type(e) for e in rig.events] == [VisitStarted, ZoneChanged]
    moved = rig.events[1]
    assert isinstance(moved, ZoneChanged)
    assert (moved.visit_id, moved.from_zone_id, moved.to_zone_id, moved.zone) == (
        started.visit_id,
        "entrance",
        "fitting-1",
        "Fitting room 1",
    )
    # Sure at t=7; dated from t=5, when fit-1 began to lead (what the visit records).
    assert moved.at == walk.at(5)
    assert moved.confidence == pytest.approx(confidence(3.0))
    visit_id = started.visit_id
    zone, last_seen, departed_at, segments = stored(rig, visit_id)
    assert (zone, last_seen, departed_at) == ("fitting-1", walk.at(10), None)
    # The recorded stays split where fit-1 began to lead (t=5), not where the hub was sure.
    assert segments == (
        ("entrance", walk.at(1), walk.at(5), pytest.approx(confidence(25.0))),
        ("fitting-1", walk.at(5), None, pytest.approx(confidence(3.0))),
    )

    # The hub restarts mid-visit: the same visit goes on in the fitting room, no arrival.
    rig.restart_hub()
    walk.processed = 0
    assert rig.presence.present() == {rig.device_id: "fitting-1"}
    for second in range(11, 15):
        walk.round(second, door=-80.0, fit=-55.0)
    assert [type(e) for e in rig.events] == [VisitStarted, ZoneChanged]
    assert rig.presence.counters["arrivals"] == 0
    # Dwell counts from entering the fitting room at t=5, not from the restart, and goes on
    # while the phone is quiet (unheard since t=14).
    rig.presence.tick(walk.at(64.9))
    rig.presence.tick(walk.at(65))
    assert [type(e) for e in rig.events] == [VisitStarted, ZoneChanged, ShopperQuiet, DwellReached]
    dwell = rig.events[3]
    assert isinstance(dwell, DwellReached)
    assert (dwell.visit_id, dwell.zone_id, dwell.threshold_s, dwell.seconds) == (
        visit_id,
        "fitting-1",
        60.0,
        60.0,
    )

    # A QoS 1 redelivery of a report from before the dwell changes nothing anywhere.
    before = stored(rig, visit_id)
    rig.send(FIT, walk.payloads[("fit-1", 12)])
    wait_until(lambda: rig.presence.counters["duplicate"] == 1)
    assert rig.presence.counters["reports"] == walk.processed
    assert len(rig.events) == 4
    assert stored(rig, visit_id) == before

    # Both agents give up on the phone a minute after last hearing it: the visit ends, and its
    # fitting-room segment closes when the shopper was last heard.
    walk.departed(74)
    assert [type(e) for e in rig.events][-2:] == [DwellReached, VisitEnded]
    ended = rig.events[4]
    assert isinstance(ended, VisitEnded)
    assert (ended.visit_id, ended.departed_at, ended.last_seen) == (
        visit_id,
        walk.at(74),
        walk.at(14),
    )
    zone, last_seen, departed_at, segments = stored(rig, visit_id)
    assert (zone, last_seen, departed_at) == ("fitting-1", walk.at(14), walk.at(74))
    assert [(z, entered, left) for z, entered, left, _ in segments] == [
        ("entrance", walk.at(1), walk.at(5)),
        ("fitting-1", walk.at(5), walk.at(14)),
    ]
    with rig.db.transaction() as session:
        assert [v.id for v in session.scalars(select(Visit))] == [visit_id]


class Tablets:
    """Records what the tablets would be sent."""

    def __init__(self) -> None:
        self.cards: list[dict[str, Any]] = []

    def card_updated(self, store_id: str, card: dict[str, Any]) -> None:
        self.cards.append(card)


def test_zone_change_dwell_and_a_quiet_phone_update_the_stored_card_and_reach_the_tablets(
    mosquitto: Broker, tmp_path: Path
) -> None:
    tablets = Tablets()
    arrivals: list[VisitEvent] = []
    floor: list[FloorUpdates] = []  # the database exists once the rig has made it
    # As hub.py wires it, with the arrival pipeline replaced by a list.
    publish = route_presence_events(arrivals.append, lambda event: floor[0].on_floor_event(event))
    rig = Rig(mosquitto, tmp_path, publish=publish, fusion=ZONES)
    floor.append(FloorUpdates(rig.db, tablets))
    try:
        rig.topology.put_zone("fitting-1", "Fitting room 1", "fitting_room", 4.0, 7.5, rig.now)
        rig.topology.register_agent("fit-1", "fitting-1", 0.0, None, rig.now)
        walk = Walk(rig)
        walk.round(0, door=-55.0, fit=-80.0)
        walk.round(1, door=-55.0, fit=-80.0)
        (started,) = arrivals
        assert isinstance(started, VisitStarted)
        # The arrival pipeline has put the card up (see operations/arrivals.py).
        card = {"visit_id": started.visit_id, "zone": "Entrance", "profile_status": "ok"}
        with rig.db.transaction() as session:
            repo.set_card(session, started.visit_id, card)

        walk.round(2, door=-75.0, fit=-55.0)  # 20 dB ahead: the fitting room at once
        assert len(tablets.cards) == 1
        moved = tablets.cards[0]
        assert moved["visit_id"] == started.visit_id
        assert (moved["zone"], moved["zone_id"], moved["dwell_s"]) == (
            "Fitting room 1",
            "fitting-1",
            0,
        )
        assert moved["zone_since"] == moved["last_seen"]
        assert moved["profile_status"] == "ok"

        # The phone goes quiet (locked) in the fitting room: one push once nobody has heard it
        # for the stale time, saying since when; then none but the 60 s dwell threshold, which
        # a quiet shopper still reaches (trying things on with the phone in a pocket).
        for second in range(3, 62):
            rig.presence.tick(walk.at(second))
        assert len(tablets.cards) == 2
        quiet = tablets.cards[1]
        assert (quiet["zone"], quiet["quiet_since"]) == ("Fitting room 1", moved["zone_since"])
        assert "quiet_since" not in card and moved["quiet_since"] is None
        rig.presence.tick(walk.at(62))
        assert [(c["dwell_s"], c["quiet_since"]) for c in tablets.cards[1:]] == [
            (0, quiet["quiet_since"]),
            (60, quiet["quiet_since"]),
        ]

        # The hub restarts meanwhile. Heard again in the fitting room: once every agent's
        # report is in (the settle second), the card says it is where the shopper is again.
        rig.now = walk.at(63)
        rig.restart_hub()
        walk.processed = 0
        walk.round(63, door=-75.0, fit=-55.0)
        assert len(tablets.cards) == 3
        walk.round(64, door=-75.0, fit=-55.0)
        assert len(tablets.cards) == 4
        assert (tablets.cards[-1]["zone"], tablets.cards[-1]["quiet_since"]) == (
            "Fitting room 1",
            None,
        )
        with rig.db.transaction() as session:
            visit = session.get(Visit, started.visit_id)
            assert visit is not None and visit.card == tablets.cards[-1]
        assert arrivals == [started]
    finally:
        rig.close()
