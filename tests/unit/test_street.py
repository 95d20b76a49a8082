"""Telling the store from the street by position: passers-by, walking out, the doorway."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from store_hub.domain.fusion import Arrived, Departed, FusionSettings, PresenceFusion, Reading
from store_hub.domain.position_tracker import FloorPlan, PositionTracker, TrackerSettings
from tests.unit.test_position_tracker import PLAN, REFERENCE, T0, heard_walking, level

# PLAN's two zones, drawn, are the whole floor, 0-20 m by 0-10 m; the street is at y < 0. A
# third agent at the back of the tills takes the agents out of a line.
STORE = FloorPlan(
    {**PLAN.positions, "till-2": (15.0, 9.0)},
    {**PLAN.zones, "till-2": "tills"},
    PLAN.bounds,
    outline=tuple(PLAN.bounds.values()),
    entrances=frozenset({"entrance"}),
)
UNDRAWN = replace(STORE, outline=())
IN_A_LINE = replace(STORE, positions={**STORE.positions, "till-2": (25.0, 5.0)})


def _arrivals(events: list[tuple[float, object]]) -> list[Arrived]:
    return [event for _, event in events if isinstance(event, Arrived)]


def test_only_the_outline_and_agents_off_a_line_tell_inside_from_outside() -> None:
    assert STORE.outlined
    assert not UNDRAWN.outlined and not IN_A_LINE.outlined
    assert not replace(PLAN, outline=STORE.outline).outlined  # two agents are always a line
    for plan in (UNDRAWN, IN_A_LINE):
        tracker = PositionTracker(plan, TrackerSettings())
        tracker.update("dev", "door-1", [(1.0, -70.0)])
        assert tracker.inside_probability("dev") is None
    tracker = PositionTracker(STORE, TrackerSettings())
    assert tracker.inside_probability("dev") is None  # never heard
    tracker.update("dev", "door-1", [(1.0, -70.0)])
    assert 0.0 < (tracker.inside_probability("dev") or 0.0) < 1.0


def test_a_zone_without_a_placed_agent_is_still_inside_the_store() -> None:
    # A cafe beside the entrance, drawn, with no agent of its own: the outline holds it.
    with_cafe = replace(STORE, outline=(*STORE.outline, (-10.0, 0.0, 0.0, 10.0)))
    for plan, inside in ((with_cafe, True), (STORE, False)):
        fusion = PresenceFusion(FusionSettings(), plan, seed=2)
        events = heard_walking(fusion, lambda t: (-5.0, 5.0), seconds=40, plan=plan)
        # In the cafe: present, in the zone of the nearest agent; without it, on the street.
        assert fusion.present() == ({"dev": "entrance"} if inside else {})
        assert len(_arrivals(events)) == int(inside)


def test_a_passer_by_heard_through_the_window_never_arrives() -> None:
    def passing(t: float) -> tuple[float, float]:
        return -10.0 + 1.2 * t, -4.0  # along the shop front, 4 m out

    fusion = PresenceFusion(FusionSettings(), STORE, seed=2)
    events = heard_walking(fusion, passing, seconds=35, plan=STORE)
    assert _arrivals(events) == []
    assert fusion.present() == {}
    # Without the outline nothing tells the street from the store: the same walk arrives.
    undrawn = PresenceFusion(FusionSettings(), UNDRAWN, seed=2)
    assert len(_arrivals(heard_walking(undrawn, passing, seconds=35, plan=UNDRAWN))) == 1


def test_a_shopper_who_walks_out_departs_without_the_away_timeout_and_stays_gone() -> None:
    def leaving(t: float) -> tuple[float, float]:
        return 5.0, 5.0 - 1.2 * max(0.0, t - 20.0)  # out of the door (y = 0) at t = 24.2 s

    fusion = PresenceFusion(FusionSettings(), STORE, seed=2)
    events = heard_walking(fusion, leaving, seconds=80, plan=STORE)
    (arrived,) = _arrivals(events)
    assert arrived.zone == "entrance"
    departures = [(t, event) for t, event in events if isinstance(event, Departed)]
    assert len(departures) == 1
    t, departed = departures[0]
    # Out at 24.2 s; sure and 6 dB quieter a few metres on, then outside_depart_s: far from
    # the 90 s away timeout.
    assert 30.0 <= t <= 45.0
    assert departed.zone == "entrance" and departed.last_seen > T0 + timedelta(seconds=t - 1)
    # Still heard on the street for half a minute after, and not back.
    assert fusion.present() == {}
    # A store with no agent in an entrance zone cannot tell: the away timeout decides.
    no_way_out = PresenceFusion(FusionSettings(), replace(STORE, entrances=frozenset()), seed=2)
    events = heard_walking(no_way_out, leaving, seconds=80, plan=STORE)
    assert not any(isinstance(event, Departed) for _, event in events)


def test_a_shopper_standing_in_the_doorway_is_not_departed() -> None:
    fusion = PresenceFusion(FusionSettings(), STORE, seed=2)
    events = heard_walking(fusion, lambda t: (5.0, 1.0), seconds=80, plan=STORE)
    assert len(_arrivals(events)) == 1
    assert not any(isinstance(event, Departed) for _, event in events)
    assert fusion.present() == {"dev": "entrance"}


def heard_as_on_the_floor(
    fusion: PresenceFusion,
    where: Callable[[float], tuple[float, float]],
    seconds: int,
    seed: int,
    quieter_db: Callable[[float], float] = lambda t: 0.0,
) -> list[Departed]:
    """STORE's agents hear a phone at where(t) as the accuracy harness's radio does.

    Every 0.5 s each agent reports the advertisements of that half second it caught (10 %
    missed), 2.5 dB noise, one in ten faded 6 dB, and quieter_db(t) less at every agent (a
    bag); the reading's level is their mean.
    """
    rng = random.Random(seed)

    def advertisement(agent: tuple[float, float], t: float) -> float:
        fade = 6.0 if rng.random() < 0.1 else 0.0
        expected = level(agent, *where(t)) - quieter_db(t)
        return float(round(expected + rng.gauss(0, 2.5) - fade))

    departed: list[Departed] = []
    for step in range(2, 2 * seconds):
        for offset, (agent_id, agent) in enumerate(STORE.positions.items()):
            t = step / 2 + 0.07 * offset
            caught = [age for age in (-0.4, -0.2, 0.0) if rng.random() >= 0.1]
            levels = tuple((age, advertisement(agent, t + age)) for age in caught)
            if levels:
                rssi = sum(dbm for _, dbm in levels) / len(levels)
                seen = T0 + timedelta(seconds=t)
                zone = STORE.zones[agent_id]
                reading = Reading("dev", agent_id, zone, rssi, seen, levels, REFERENCE)
                departed += [e for e in fusion.observe(reading) if isinstance(e, Departed)]
        departed += [
            e
            for e in fusion.tick(T0 + timedelta(seconds=step / 2 + 0.4))
            if isinstance(e, Departed)
        ]
    return departed


def test_a_phone_standing_still_in_a_sparse_store_is_not_departed() -> None:
    # First heard standing 2 m inside the shop front, between the door and till agents (the
    # app opened in the store, or a visit restored after a hub restart: no track yet), three
    # agents in all. A phone a few dB louder than it says out on the street sounds the same,
    # and the tracker can drift there; but the phone has not moved away from any agent.
    def standing(t: float) -> tuple[float, float]:
        return 10.0, 2.0

    for seed in range(8):
        fusion = PresenceFusion(FusionSettings(), STORE, seed=seed)
        assert heard_as_on_the_floor(fusion, standing, 240, seed) == [], seed
    # Without the drop, some of the same phones are departed as walked out (2 of these 8).
    no_drop = FusionSettings(outside_drop_db=0.0)
    departed = [
        heard_as_on_the_floor(PresenceFusion(no_drop, STORE, seed=seed), standing, 240, seed)
        for seed in range(8)
    ]
    assert any(departed)


def test_a_phone_put_in_a_bag_at_the_tills_is_not_taken_for_one_that_walked_out() -> None:
    # In through the door to the tills, where it goes into a bag: 12 dB quieter at every agent
    # at once. The tracker can only read that as far away (no spot in the store is 12 dB
    # further from every agent), but people leave through the door, and the agent loudest
    # for the phone stays the till's.
    def walk_to_the_tills(t: float) -> tuple[float, float]:
        if t < 5.0:
            return 5.0, -5.0 + 1.2 * t
        along = min(1.0, 1.2 * (t - 5.0) / math.hypot(8.0, 2.0))
        return 5.0 + 8.0 * along, 1.0 + 2.0 * along  # to (13, 3), then still

    def bagged(t: float) -> float:
        return 12.0 if t >= 60.0 else 0.0

    for seed in range(4):
        fusion = PresenceFusion(FusionSettings(), STORE, seed=seed)
        assert heard_as_on_the_floor(fusion, walk_to_the_tills, 150, seed, bagged) == [], seed
        assert fusion.present() == {"dev": "tills"}
    # Were the tills a way out, the same phones would be departed by a tracker that took the
    # step for distance; one that takes it for the phone's (bias_step_db) keeps them in place.
    tills_a_door = replace(STORE, entrances=frozenset({"entrance", "tills"}))

    def departed(tracker: TrackerSettings) -> list[list[Departed]]:
        return [
            heard_as_on_the_floor(
                PresenceFusion(FusionSettings(), tills_a_door, tracker, seed=seed),
                walk_to_the_tills,
                150,
                seed,
                bagged,
            )
            for seed in range(4)
        ]

    assert sum(bool(d) for d in departed(TrackerSettings(bias_step_db=0.0))) >= 2
    assert not any(departed(TrackerSettings()))


def test_street_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="leave_inside"):
        FusionSettings(arrive_inside=0.3, leave_inside=0.5)
    with pytest.raises(
        ValueError, match="arrive_inside, leave_inside, outside_depart_s, outside_drop_db"
    ):
        FusionSettings(
            arrive_inside=1.5, leave_inside=-0.1, outside_depart_s=-1, outside_drop_db=-1
        )


def test_a_phone_that_goes_quiet_is_left_to_the_away_timeout() -> None:
    # Walks out and is last heard 6 m down the pavement, before the walk-out is settled, then
    # goes quiet (locked, out of range): its last placement might as well be a noisy dip in a
    # corner of the store.
    def leaving(t: float) -> tuple[float, float]:
        return 5.0, max(-8.0, 5.0 - 1.2 * max(0.0, t - 20.0))

    settings = FusionSettings()
    fusion = PresenceFusion(settings, STORE, seed=2)
    heard = heard_walking(fusion, leaving, seconds=30, plan=STORE)
    assert len(_arrivals(heard)) == 1
    assert not any(isinstance(event, Departed) for _, event in heard)
    last_heard = 29.3
    quiet: list[Departed] = []
    for second in range(30, 130):
        quiet += [e for e in fusion.tick(T0 + timedelta(seconds=second)) if isinstance(e, Departed)]
        if second < last_heard + settings.away_timeout_s:
            assert quiet == [], second
    assert len(quiet) == 1
