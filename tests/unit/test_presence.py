from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store_hub.domain.presence import Arrived, Departed, PresenceTracker

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AWAY = timedelta(seconds=90)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_first_sighting_is_an_arrival_and_later_ones_are_not() -> None:
    tracker = PresenceTracker(AWAY)
    events = tracker.heard("d1", "door-1", "entrance", -60.0, s(0))
    assert events == [Arrived("d1", s(0), "door-1", "entrance", -60.0)]
    assert tracker.heard("d1", "door-1", "entrance", -61.0, s(1)) == []
    assert tracker.heard("d1", "fit-1", None, -70.0, s(2)) == []
    assert "d1" in tracker


def test_departure_after_away_timeout_with_last_seen() -> None:
    tracker = PresenceTracker(AWAY)
    tracker.heard("d1", "door-1", None, -60.0, s(0))
    tracker.heard("d1", "door-1", None, -60.0, s(10))
    assert tracker.expire(s(99)) == []
    assert tracker.expire(s(101)) == [Departed("d1", s(101), s(10))]
    assert tracker.expire(s(300)) == []
    assert "d1" not in tracker


def test_agent_says_departed_but_another_agent_still_hears() -> None:
    tracker = PresenceTracker(AWAY)
    tracker.heard("d1", "door-1", None, -60.0, s(0))
    tracker.heard("d1", "fit-1", None, -65.0, s(5))
    assert tracker.lost("d1", "door-1", s(95)) == []
    assert tracker.lost("d1", "fit-1", s(96)) == [Departed("d1", s(96), s(5))]


def test_lost_for_unknown_device_is_nothing() -> None:
    assert PresenceTracker(AWAY).lost("nobody", "door-1", s(0)) == []


def test_restored_device_departs_if_not_heard_again() -> None:
    tracker = PresenceTracker(AWAY)
    tracker.restore("d1", s(0))
    assert tracker.heard("d1", "door-1", None, -60.0, s(5)) == []
    assert tracker.expire(s(96)) == [Departed("d1", s(96), s(5))]


def test_coming_back_after_departure_is_a_new_arrival() -> None:
    tracker = PresenceTracker(AWAY)
    tracker.heard("d1", "door-1", None, -60.0, s(0))
    tracker.expire(s(100))
    assert tracker.heard("d1", "door-1", None, -60.0, s(200)) == [
        Arrived("d1", s(200), "door-1", None, -60.0)
    ]
