"""The position tracker and the fusion's zone decisions from it, on injected time."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from store_hub.domain.fusion import (
    Arrived,
    FusionEvent,
    FusionSettings,
    PresenceFusion,
    Reading,
    ZoneChanged,
)
from store_hub.domain.position_tracker import (
    FloorPlan,
    PositionTracker,
    TrackerSettings,
    reference_dbm,
)

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
REFERENCE = -61.0
# Two zones side by side, 10 m each, one ceiling agent in the middle of each.
PLAN = FloorPlan(
    {"door-1": (5.0, 5.0), "till-1": (15.0, 5.0)},
    {"door-1": "entrance", "till-1": "tills"},
    {"entrance": (0.0, 0.0, 10.0, 10.0), "tills": (10.0, 0.0, 20.0, 10.0)},
)


def level(agent: tuple[float, float], x: float, y: float, plan: FloorPlan = PLAN) -> float:
    """What the path-loss model says an agent hears from a phone at (x, y)."""
    d2 = (agent[0] - x) ** 2 + (agent[1] - y) ** 2 + plan.height_m**2
    return REFERENCE - 5.0 * plan.path_loss_exponent * math.log10(d2)


def report_levels(
    rng: random.Random, agent: tuple[float, float], where: tuple[float, float], t: float
) -> list[tuple[float, float]]:
    """Five advertisements heard in the second before t, 2.5 dB noise, whole dBm."""
    return [
        (t - 0.8 + 0.2 * i, float(round(level(agent, *where) + rng.gauss(0, 2.5))))
        for i in range(5)
    ]


def test_a_phone_standing_still_is_placed_in_its_zone_and_near_where_it_is() -> None:
    tracker = PositionTracker(PLAN, TrackerSettings(), seed=3)
    rng = random.Random(1)
    where = (3.0, 4.0)
    for second in range(1, 11):
        for agent_id, agent in PLAN.positions.items():
            tracker.update("dev", agent_id, report_levels(rng, agent, where, second), REFERENCE)
    probabilities = tracker.zone_probabilities("dev")
    assert probabilities["entrance"] > 0.95
    assert sum(probabilities.values()) == pytest.approx(1.0)
    x, _ = tracker.position("dev") or (math.nan, math.nan)
    # Two agents on one line leave y ambiguous; x is what tells the zones apart.
    assert abs(x - where[0]) < 2.0


def test_the_same_seed_and_levels_give_the_same_answer() -> None:
    answers = []
    for _ in range(2):
        tracker = PositionTracker(PLAN, TrackerSettings(), seed=9)
        rng = random.Random(4)
        for second in range(1, 6):
            for agent_id, agent in PLAN.positions.items():
                tracker.update("dev", agent_id, report_levels(rng, agent, (12, 5), second))
        answers.append(tracker.zone_probabilities("dev"))
    assert answers[0] == answers[1]


def test_a_zone_rectangle_wins_over_the_nearest_agent() -> None:
    # The entrance's rectangle reaches to x = 12, past the halfway line between the agents.
    plan = FloorPlan(
        PLAN.positions,
        PLAN.zones,
        {"entrance": (0.0, 0.0, 12.0, 10.0), "tills": (12.0, 0.0, 20.0, 10.0)},
    )
    with_bounds = PositionTracker(plan, TrackerSettings())
    nearest_only = PositionTracker(FloorPlan(PLAN.positions, PLAN.zones), TrackerSettings())
    assert with_bounds.zone_at(11.0, 5.0) == "entrance"
    assert nearest_only.zone_at(11.0, 5.0) == "tills"
    # Outside every rectangle (the street by the door), the nearest agent decides.
    assert with_bounds.zone_at(4.0, -6.0) == "entrance"
    assert with_bounds.zone_at(16.0, -6.0) == "tills"


def test_levels_older_than_the_cloud_still_count_and_unknown_agents_are_ignored() -> None:
    tracker = PositionTracker(PLAN, TrackerSettings(), seed=1)
    tracker.update("dev", "door-1", [(10.0, -62.0)], REFERENCE)
    before = tracker.zone_probabilities("dev")
    tracker.update("dev", "till-1", [(9.0, -85.0)], REFERENCE)  # a second late: still evidence
    after = tracker.zone_probabilities("dev")
    assert after["entrance"] > before["entrance"]
    tracker.update("dev", "womens-1", [(11.0, -40.0)], REFERENCE)
    assert tracker.zone_probabilities("dev") == after
    tracker.update("other", "unplaced", [(11.0, -40.0)], REFERENCE)
    assert not tracker.tracking("other")
    tracker.forget("dev")
    assert tracker.zone_probabilities("dev") == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"positions": {"a": (0, 0)}, "zones": {"a": "z"}}, "at least two"),
        (
            {"positions": {"a": (0, 0), "b": (5, 0)}, "zones": {"a": "z"}},
            "without a zone in the floor plan: b",
        ),
        (
            {
                "positions": {"a": (0, 0), "b": (5, 0)},
                "zones": {"a": "z", "b": "y"},
                "bounds": {"x": (0, 0, 1, 1)},
            },
            "no agent is in: x",
        ),
        (
            {
                "positions": {"a": (0, 0), "b": (5, 0)},
                "zones": {"a": "z", "b": "y"},
                "bounds": {"z": (5, 0, 1, 1)},
            },
            "x0 < x1",
        ),
        (
            {
                "positions": {"a": (0, 0), "b": (5, 0)},
                "zones": {"a": "z", "b": "y"},
                "outline": ((0, 0, 10, 10), (0, 3, 1, 1)),
            },
            "x0 < x1",
        ),
    ],
)
def test_a_floor_plan_the_tracker_cannot_use_is_refused(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FloorPlan(**kwargs)  # type: ignore[arg-type]


def test_tracker_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="particles, fade_share"):
        TrackerSettings(particles=10, fade_share=1.0)


def test_reference_power_from_what_the_phone_advertises() -> None:
    assert reference_dbm(-20, eddystone=True) == -61.0
    assert reference_dbm(-59, eddystone=False) == -59.0
    assert reference_dbm(0, eddystone=False) is None  # iOS's "unset"
    assert reference_dbm(None, eddystone=True) is None


def heard_walking(
    fusion: PresenceFusion,
    where: Callable[[float], tuple[float, float]],
    seconds: int = 50,
    plan: FloorPlan = PLAN,
) -> list[tuple[float, FusionEvent]]:
    """Every agent reports a phone at where(t) every second, with 2.5 dB noise; fusion ticks."""
    rng = random.Random(7)
    events: list[tuple[float, FusionEvent]] = []
    for second in range(1, seconds):
        for agent_id, agent in plan.positions.items():
            t = second + (0.3 if agent_id == "till-1" else 0.0)
            levels = tuple(
                (offset, float(round(level(agent, *where(t + offset)) + rng.gauss(0, 2.5))))
                for offset in (-0.8, -0.6, -0.4, -0.2, 0.0)
            )
            seen = T0 + timedelta(seconds=t)
            rssi = sum(dbm for _, dbm in levels) / len(levels)
            zone = plan.zones[agent_id]
            reading = Reading("dev", agent_id, zone, rssi, seen, levels, REFERENCE)
            events += [(t, event) for event in fusion.observe(reading)]
        now = T0 + timedelta(seconds=second + 0.5)
        events += [(second + 0.5, event) for event in fusion.tick(now)]
    return events


def _walk(fusion: PresenceFusion, speed: float = 1.0) -> list[tuple[float, FusionEvent]]:
    """A shopper standing in the entrance, then walking into the tills at x = 10 (t = 25 s)."""
    return heard_walking(fusion, lambda t: (min(18.0, 5.0 + max(0.0, t - 20.0) * speed), 5.0))


def test_a_walk_across_a_boundary_is_one_zone_change_dated_near_the_crossing() -> None:
    fusion = PresenceFusion(FusionSettings(), PLAN, seed=2)
    events = _walk(fusion)
    calls = [event for _, event in events if isinstance(event, Arrived | ZoneChanged)]
    assert [type(e).__name__ for e in calls] == ["Arrived", "ZoneChanged"]
    arrived, changed = calls
    assert isinstance(arrived, Arrived) and isinstance(changed, ZoneChanged)
    assert (arrived.zone, changed.from_zone, changed.to_zone) == ("entrance", "entrance", "tills")
    crossing = T0 + timedelta(seconds=25)
    # Sure within a few seconds; the recorded stay starts close to the real crossing.
    assert timedelta(0) < changed.at - crossing < timedelta(seconds=4)
    assert changed.entered_at is not None
    assert abs(changed.entered_at - crossing) < timedelta(seconds=2)
    # Confidence is the zone's probability.
    assert 0.5 < changed.confidence <= 1.0
    assert fusion.present() == {"dev": "tills"}


def test_without_levels_or_without_a_floor_plan_the_loudest_zone_rule_decides() -> None:
    for fusion in (
        PresenceFusion(FusionSettings(), None, seed=2),
        PresenceFusion(FusionSettings(), PLAN, seed=2),
    ):
        seen = T0 + timedelta(seconds=2)
        fusion.observe(Reading("dev", "door-1", "entrance", -80.0, T0))
        # No levels: the tracker never hears of the device; -60 beats -80 by the clear margin.
        fusion.observe(Reading("dev", "till-1", "tills", -60.0, seen))
        assert fusion.present() == {"dev": "tills"}
        events = fusion.tick(seen + timedelta(seconds=1))
        assert events == []


def test_a_new_floor_plan_replaces_the_tracker_and_none_goes_back_to_the_rule() -> None:
    fusion = PresenceFusion(FusionSettings(), PLAN, seed=2)
    _walk(fusion)
    moved = FloorPlan({"door-1": (4.0, 5.0), "till-1": (16.0, 5.0)}, PLAN.zones)
    fusion.set_floor(moved)
    fusion.set_floor(moved)  # the same plan again keeps the tracker
    fusion.set_floor(None)
    seen = T0 + timedelta(seconds=60)
    fusion.observe(Reading("dev", "door-1", "entrance", -50.0, seen, ((-0.1, -50.0),)))
    fusion.observe(Reading("dev", "till-1", "tills", -80.0, seen, ((-0.1, -80.0),)))
    assert fusion.present() == {"dev": "entrance"}


def test_a_withdrawn_consent_drops_the_position_at_once() -> None:
    fusion = PresenceFusion(FusionSettings(), PLAN, seed=2)
    _walk(fusion)
    tracker = fusion._tracker
    assert tracker is not None and tracker.tracking("dev")
    fusion.forget_position("dev")
    assert not tracker.tracking("dev")
    assert fusion.present() == {"dev": "tills"}  # the visit itself ends as usual, later
