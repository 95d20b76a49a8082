"""Agents' receiver offsets, measured from the phones the tracker has placed."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from store_hub.domain.position_tracker import FloorPlan, PositionTracker, TrackerSettings
from store_hub.domain.receiver_calibration import CalibrationSettings, ReceiverCalibration
from tests.unit.test_position_tracker import REFERENCE, level

# Four ceiling agents over a 20 m x 10 m floor (two zones, both drawn), off a line.
FLOOR = FloorPlan(
    {"door-1": (5.0, 5.0), "till-1": (15.0, 5.0), "back-1": (5.0, 9.0), "back-2": (15.0, 9.0)},
    {"door-1": "entrance", "till-1": "tills", "back-1": "entrance", "back-2": "tills"},
    {"entrance": (0.0, 0.0, 10.0, 10.0), "tills": (10.0, 0.0, 20.0, 10.0)},
)
QUICK = CalibrationSettings(samples_per_update=10, gain=1.0)


def test_an_agent_that_hears_louder_than_the_others_is_measured_relative_to_them() -> None:
    calibration = ReceiverCalibration(QUICK)
    assert not calibration.add("a", [4.0] * 9)
    assert not calibration.add("b", [0.0] * 10)  # 19 innovations: not yet 10 per agent
    assert calibration.offsets() == {}
    assert calibration.add("b", [0.0])
    # Only the difference is known: a hears 4 dB louder than b, and their mean stays at 0.
    assert calibration.offsets() == pytest.approx({"a": 2.0, "b": -2.0})
    assert calibration.offset("a") == pytest.approx(2.0)
    assert calibration.offset("never-heard") == 0.0
    assert calibration.version == 1


def test_each_update_goes_part_of_the_way_and_levels_corrected_since_settle_it() -> None:
    calibration = ReceiverCalibration(CalibrationSettings(samples_per_update=10, gain=0.5))
    louder = {"a": 4.0, "b": 0.0}
    for _ in range(12):
        # The tracker hands over the levels with the current offset already taken off.
        for agent, db in louder.items():
            calibration.add(agent, [db - calibration.offset(agent)] * 10)
    offsets = calibration.offsets()
    assert offsets["a"] - offsets["b"] == pytest.approx(4.0, abs=0.01)


def test_a_quiet_agent_does_not_hold_the_others_back_nor_is_moved_on_little_evidence() -> None:
    calibration = ReceiverCalibration(QUICK)
    calibration.add("corner", [5.0])  # under a fifth of an update's worth
    calibration.add("a", [2.0] * 15)
    assert calibration.add("b", [-2.0] * 15)
    offsets = calibration.offsets()
    assert "corner" not in offsets
    assert offsets["a"] - offsets["b"] == pytest.approx(4.0)
    # Its innovation waits for the next update, which comes once the agents heard since have
    # an update's worth each on average.
    calibration.add("corner", [5.0] * 10)
    assert calibration.add("a", [0.0] * 10)
    assert calibration.offset("corner") > calibration.offset("a")


def test_outliers_are_not_counted_and_offsets_stop_at_the_limit() -> None:
    calibration = ReceiverCalibration(
        CalibrationSettings(samples_per_update=10, gain=1.0, limit_db=3.0)
    )
    assert not calibration.add("a", [40.0] * 100)  # a fault, not a receiver
    calibration.add("a", [14.0] * 10)
    calibration.add("b", [-14.0] * 10)
    assert calibration.offsets() == pytest.approx({"a": 3.0, "b": -3.0})
    calibration.restore({"a": 7.5, "b": -1.0})
    assert calibration.offsets() == {"a": 3.0, "b": -1.0}
    assert calibration.version == 2


def test_it_changing_an_agents_own_calibration_moves_what_was_measured() -> None:
    calibration = ReceiverCalibration(QUICK)
    calibration.restore({"a": 4.0, "b": -2.0, "c": -2.0})
    # IT sets "a" 6 dB quieter: its levels now arrive 6 dB lower, so 6 dB less is taken off.
    calibration.shift("a", -6.0)
    assert calibration.offsets() == pytest.approx({"a": 0.0, "b": 0.0, "c": 0.0})
    assert calibration.version == 2
    # An agent not measured yet has nothing to move; nor has no change.
    calibration.shift("new", 3.0)
    calibration.shift("b", 0.0)
    assert calibration.offsets() == pytest.approx({"a": 0.0, "b": 0.0, "c": 0.0})
    assert calibration.version == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("samples_per_update", 0),
        ("gain", 0.0),
        ("gain", 1.5),
        ("limit_db", -1.0),
        ("confident_within_m", 0.0),
        ("outlier_db", 0.0),
        ("phone_bias_within_db", 0.0),
        ("heard_for_s", -1.0),
    ],
)
def test_calibration_settings_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        CalibrationSettings(**{field: value})


def round_a_rectangle(x0: float, x1: float, y0: float, y1: float, s: float) -> tuple[float, float]:
    """Where one is after s metres round the rectangle, anticlockwise from (x0, y0)."""
    width, height = x1 - x0, y1 - y0
    s %= 2.0 * (width + height)
    if s < width:
        return x0 + s, y0
    if s < width + height:
        return x1, y0 + (s - width)
    if s < 2.0 * width + height:
        return x1 - (s - width - height), y1
    return x0, y1 - (s - 2.0 * width - height)


def walking_the_floor(t: float) -> tuple[float, float]:
    """Round FLOOR's 16 m x 6 m inner rectangle at 1 m/s, 44 m a lap."""
    return round_a_rectangle(2.0, 18.0, 2.0, 8.0, t)


def half_second_heard(
    rng: random.Random,
    agent: tuple[float, float],
    where: Callable[[float], tuple[float, float]],
    t: float,
    louder: Callable[[float], float],
) -> list[tuple[float, float]]:
    """What an agent of FLOOR reports at t of a phone at where(): three advertisements of the
    half second before, 2.5 dB noise, one in ten faded 6 dB, `louder(time)` dB added."""
    return [
        (
            t + age,
            float(
                round(
                    level(agent, *where(t + age), FLOOR)
                    + louder(t + age)
                    + rng.gauss(0, 2.5)
                    - (6.0 if rng.random() < 0.1 else 0.0)
                )
            ),
        )
        for age in (-0.4, -0.2, 0.0)
    ]


def _walk_the_floor(tracker: PositionTracker, louder: dict[str, float], seconds: int) -> float:
    """A phone walking loops of the floor, heard by every agent every 0.5 s (3 advertisements,
    2.5 dB noise, one in ten faded 6 dB) with `louder` added per agent; mean position error (m)
    over the last minute.
    """
    rng = random.Random(3)
    where = walking_the_floor
    errors: list[float] = []
    for step in range(2, 2 * seconds):
        for offset, (agent_id, agent) in enumerate(FLOOR.positions.items()):
            t = step / 2 + 0.11 * offset
            extra = louder.get(agent_id, 0.0)
            levels = half_second_heard(rng, agent, where, t, lambda _, db=extra: db)
            tracker.update("dev", agent_id, levels, REFERENCE)
        if step >= 2 * (seconds - 60):
            x, y = tracker.position("dev") or (math.nan, math.nan)
            true_x, true_y = where(step / 2 + 0.33)
            errors.append(math.hypot(x - true_x, y - true_y))
    return sum(errors) / len(errors)


def test_the_tracker_measures_a_loud_receiver_and_places_phones_better_for_it() -> None:
    louder = {"till-1": 6.0}
    calibrated = PositionTracker(FLOOR, TrackerSettings(), seed=1)
    uncalibrated = PositionTracker(FLOOR, TrackerSettings(calibrate_receivers=False), seed=1)
    error = _walk_the_floor(calibrated, louder, 600)
    error_without = _walk_the_floor(uncalibrated, louder, 600)
    offsets = calibrated_offsets(calibrated)
    # till-1 measured as the loud one, by most of its 6 dB over the others (5.5-5.6 on four
    # seeds: the positions it is measured from lean a little towards the loud agent); the
    # phone placed within about 0.9 m on average instead of 2.2 m.
    others = [db for agent, db in offsets.items() if agent != "till-1"]
    assert offsets["till-1"] - max(others) > 4.5
    assert max(others) - min(others) < 1.0
    assert error < 0.5 * error_without


def calibrated_offsets(tracker: PositionTracker) -> dict[str, float]:
    """The offsets the tracker's calibration holds."""
    return tracker.calibration.offsets() if tracker.calibration is not None else {}


def test_receivers_that_agree_are_left_alone() -> None:
    tracker = PositionTracker(FLOOR, TrackerSettings(), seed=1)
    _walk_the_floor(tracker, {}, 300)
    offsets = calibrated_offsets(tracker)
    assert offsets and max(abs(db) for db in offsets.values()) < 1.0


def test_a_phone_put_in_a_bag_does_not_measure_the_receivers() -> None:
    # A phone walks the floor for four and a half minutes, goes into a bag (8 dB quieter at
    # every agent) at the tills and walks round them for five more. The tracker takes the step
    # as the phone's, but a quiet phone can also be read as a farther one and what the tracker
    # leaves unexplained is the bag's, not the agents': counted, it measured an agent 0.7-1.0 dB
    # off (six random streams; 0.1-0.3 dB with the bagged phone left out), and on the harness's
    # floor bagged phones measured the front agents quiet enough to show half the passers-by in
    # the store.
    tracker = PositionTracker(FLOOR, TrackerSettings(), seed=1)
    rng = random.Random(5)

    bag_at = 276.0  # at (14, 2), walking towards the tills' far side

    def round_the_tills(t: float) -> tuple[float, float]:
        # The tills' half's 6 m x 6 m inner square at 1 m/s, on from (14, 2).
        return round_a_rectangle(12.0, 18.0, 2.0, 8.0, t - bag_at + 2.0)

    def where(t: float) -> tuple[float, float]:
        return walking_the_floor(t) if t < bag_at else round_the_tills(t)

    def bagged(t: float) -> float:
        return -8.0 if t >= bag_at else 0.0

    for step in range(2, 1200):
        for offset, (agent_id, agent) in enumerate(FLOOR.positions.items()):
            t = step / 2 + 0.11 * offset
            tracker.update(
                "dev", agent_id, half_second_heard(rng, agent, where, t, bagged), REFERENCE
            )
    offsets = calibrated_offsets(tracker)
    assert offsets and max(abs(db) for db in offsets.values()) < 0.5


@pytest.mark.parametrize(("heard_for_s", "measured"), [(20.0, False), (0.0, True)])
def test_a_phone_is_counted_only_once_the_tracker_has_followed_it_a_while(
    heard_for_s: float, measured: bool
) -> None:
    # Fifteen seconds of a phone walking past a receiver 6 dB loud: placed well enough to count
    # (the updates would come after ten innovations an agent), but its bias is not known yet.
    settings = CalibrationSettings(samples_per_update=10, gain=1.0, heard_for_s=heard_for_s)
    tracker = PositionTracker(
        FLOOR, TrackerSettings(), seed=1, calibration=ReceiverCalibration(settings)
    )
    _walk_the_floor(tracker, {"till-1": 6.0}, 15)
    assert bool(calibrated_offsets(tracker)) is measured
