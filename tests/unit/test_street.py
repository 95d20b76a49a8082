"""Telling the store from the street by position: passers-by, walking out, the doorway."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store_hub.domain.fusion import Arrived, Departed, FusionSettings, PresenceFusion
from store_hub.domain.position_tracker import FloorPlan, PositionTracker, TrackerSettings
from tests.unit.test_position_tracker import PLAN, T0, heard_walking

# PLAN's two zones are the whole floor, 0-20 m by 0-10 m; the street is at y < 0.
UNDRAWN = FloorPlan(PLAN.positions, PLAN.zones, PLAN.bounds)


def _arrivals(events: list[tuple[float, object]]) -> list[Arrived]:
    return [event for _, event in events if isinstance(event, Arrived)]


def test_only_a_plan_with_the_stores_outline_tells_inside_from_outside() -> None:
    assert PLAN.outlined and not UNDRAWN.outlined
    tracker = PositionTracker(UNDRAWN, TrackerSettings())
    tracker.update("dev", "door-1", [(1.0, -70.0)])
    assert tracker.inside_probability("dev") is None
    tracker = PositionTracker(PLAN, TrackerSettings())
    assert tracker.inside_probability("dev") is None  # never heard
    tracker.update("dev", "door-1", [(1.0, -70.0)])
    assert 0.0 < (tracker.inside_probability("dev") or 0.0) < 1.0


def test_a_zone_without_a_placed_agent_is_still_inside_the_store() -> None:
    # A cafe beside the entrance, drawn, with no agent of its own: the outline holds it.
    with_cafe = FloorPlan(
        PLAN.positions, PLAN.zones, PLAN.bounds, outline=(*PLAN.outline, (-10.0, 0.0, 0.0, 10.0))
    )
    for plan, inside in ((with_cafe, True), (PLAN, False)):
        fusion = PresenceFusion(FusionSettings(), plan, seed=2)
        events = heard_walking(fusion, lambda t: (-5.0, 5.0), seconds=40)
        # In the cafe: present, in the zone of the nearest agent; without it, on the street.
        assert fusion.present() == ({"dev": "entrance"} if inside else {})
        assert len(_arrivals(events)) == int(inside)


def test_a_passer_by_heard_through_the_window_never_arrives() -> None:
    def passing(t: float) -> tuple[float, float]:
        return -10.0 + 1.2 * t, -4.0  # along the shop front, 4 m out

    fusion = PresenceFusion(FusionSettings(), PLAN, seed=2)
    events = heard_walking(fusion, passing, seconds=35)
    assert _arrivals(events) == []
    assert fusion.present() == {}
    # Without the outline nothing tells the street from the store: the same walk arrives.
    undrawn = PresenceFusion(FusionSettings(), UNDRAWN, seed=2)
    assert len(_arrivals(heard_walking(undrawn, passing, seconds=35))) == 1


def test_a_shopper_who_walks_out_departs_without_the_away_timeout_and_stays_gone() -> None:
    def leaving(t: float) -> tuple[float, float]:
        return 5.0, 5.0 - 1.2 * max(0.0, t - 20.0)  # out of the door (y = 0) at t = 24.2 s

    fusion = PresenceFusion(FusionSettings(), PLAN, seed=2)
    events = heard_walking(fusion, leaving, seconds=80)
    (arrived,) = _arrivals(events)
    assert arrived.zone == "entrance"
    departures = [(t, event) for t, event in events if isinstance(event, Departed)]
    assert len(departures) == 1
    t, departed = departures[0]
    # Out at 24.2 s; sure a few metres on, then outside_depart_s (10 s): far from the 90 s.
    assert 34.0 <= t <= 45.0
    assert departed.zone == "entrance" and departed.last_seen > T0 + timedelta(seconds=t - 1)
    # Still heard on the street for half a minute after, and not back.
    assert fusion.present() == {}


def test_a_shopper_standing_in_the_doorway_is_not_departed() -> None:
    fusion = PresenceFusion(FusionSettings(), PLAN, seed=2)
    events = heard_walking(fusion, lambda t: (5.0, 1.0), seconds=80)
    assert len(_arrivals(events)) == 1
    assert not any(isinstance(event, Departed) for _, event in events)
    assert fusion.present() == {"dev": "entrance"}


def test_street_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="leave_inside"):
        FusionSettings(arrive_inside=0.3, leave_inside=0.5)
    with pytest.raises(ValueError, match="arrive_inside, leave_inside, outside_depart_s"):
        FusionSettings(arrive_inside=1.5, leave_inside=-0.1, outside_depart_s=-1)
