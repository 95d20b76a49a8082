from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from store_hub.domain.quiet_hours import LocalWindow, local_date, local_day_bounds, parse_hhmm

LONDON = ZoneInfo("Europe/London")
NIGHT = LocalWindow(time(22, 0), time(8, 0))  # crosses midnight


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def quiet_minutes(window: LocalWindow, start: datetime, end: datetime) -> int:
    """Real minutes (UTC steps) between start and end that the window covers."""
    count, at = 0, start
    while at < end:
        count += window.contains(at, LONDON)
        at += timedelta(minutes=1)
    return count


def test_window_crossing_midnight_is_inside_on_both_sides_of_it() -> None:
    # 2026-01-15 is winter: London is UTC+0.
    assert NIGHT.contains(utc(2026, 1, 15, 22, 0), LONDON)
    assert NIGHT.contains(utc(2026, 1, 15, 23, 59), LONDON)
    assert NIGHT.contains(utc(2026, 1, 16, 0, 0), LONDON)
    assert NIGHT.contains(utc(2026, 1, 16, 7, 59), LONDON)
    assert not NIGHT.contains(utc(2026, 1, 16, 8, 0), LONDON)
    assert not NIGHT.contains(utc(2026, 1, 15, 21, 59), LONDON)
    assert not NIGHT.contains(utc(2026, 1, 15, 12, 0), LONDON)


def test_daytime_window_is_half_open() -> None:
    day = LocalWindow(time(10, 0), time(18, 0))
    assert not day.crosses_midnight
    assert day.contains(utc(2026, 1, 15, 10, 0), LONDON)
    assert not day.contains(utc(2026, 1, 15, 18, 0), LONDON)
    assert not day.contains(utc(2026, 1, 15, 9, 59), LONDON)


def test_summer_uses_local_time_not_utc() -> None:
    # 2026-07-01: BST, UTC+1. 07:30 UTC is 08:30 on the store's clock: no longer quiet.
    assert not NIGHT.contains(utc(2026, 7, 1, 7, 30), LONDON)
    assert NIGHT.contains(utc(2026, 7, 1, 6, 30), LONDON)  # 07:30 local
    assert NIGHT.contains(utc(2026, 7, 1, 21, 0), LONDON)  # 22:00 local


def test_spring_forward_night_is_nine_real_hours() -> None:
    # 2026-03-29 01:00 UTC: clocks go from 01:00 GMT to 02:00 BST.
    start, end = utc(2026, 3, 28, 18, 0), utc(2026, 3, 29, 12, 0)
    assert quiet_minutes(NIGHT, start, end) == 9 * 60
    assert NIGHT.contains(utc(2026, 3, 28, 22, 0), LONDON)  # 22:00 GMT
    assert NIGHT.contains(utc(2026, 3, 29, 6, 59), LONDON)  # 07:59 BST
    assert not NIGHT.contains(utc(2026, 3, 29, 7, 0), LONDON)  # 08:00 BST


def test_fall_back_night_is_eleven_real_hours() -> None:
    # 2026-10-25 01:00 UTC: clocks go from 02:00 BST back to 01:00 GMT.
    start, end = utc(2026, 10, 24, 18, 0), utc(2026, 10, 25, 12, 0)
    assert quiet_minutes(NIGHT, start, end) == 11 * 60
    assert NIGHT.contains(utc(2026, 10, 24, 21, 0), LONDON)  # 22:00 BST
    assert not NIGHT.contains(utc(2026, 10, 24, 20, 59), LONDON)
    assert NIGHT.contains(utc(2026, 10, 25, 7, 59), LONDON)  # 07:59 GMT
    assert not NIGHT.contains(utc(2026, 10, 25, 8, 0), LONDON)


def test_window_ending_inside_the_repeated_hour_covers_both_passes() -> None:
    # 00:00-01:30 local on the fall-back night: 01:15 happens twice and is quiet both times.
    window = LocalWindow(time(0, 0), time(1, 30))
    first = utc(2026, 10, 25, 0, 15)  # 01:15 BST
    second = utc(2026, 10, 25, 1, 15)  # 01:15 GMT
    assert window.contains(first, LONDON) and window.contains(second, LONDON)
    assert not window.contains(utc(2026, 10, 25, 1, 30), LONDON)
    # The clock shows 00:00-01:29 BST (90 min), then 01:30-01:59 BST (outside), then 01:00-01:29
    # GMT again (30 min): wall-clock semantics, as the store's clock on the wall shows it.
    assert not window.contains(utc(2026, 10, 25, 0, 45), LONDON)  # 01:45 BST
    assert quiet_minutes(window, utc(2026, 10, 24, 20), utc(2026, 10, 25, 6)) == 120


def test_window_starting_in_the_skipped_hour_starts_when_the_clock_passes_it() -> None:
    # 01:30-03:00 on the spring-forward night: 01:30 never shows; the clock jumps to 02:00,
    # which is inside, so the window runs 01:00-02:00 UTC: one real hour.
    window = LocalWindow(time(1, 30), time(3, 0))
    assert not window.contains(utc(2026, 3, 29, 0, 59), LONDON)  # 00:59 GMT
    assert window.contains(utc(2026, 3, 29, 1, 0), LONDON)  # 02:00 BST
    assert quiet_minutes(window, utc(2026, 3, 28, 20), utc(2026, 3, 29, 6)) == 60


def test_local_day_is_23_or_25_hours_on_dst_days() -> None:
    start, end = local_day_bounds(utc(2026, 3, 29, 12, 0), LONDON)
    assert (start, end) == (utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 23, 0))
    start, end = local_day_bounds(utc(2026, 10, 25, 12, 0), LONDON)
    assert (start, end) == (utc(2026, 10, 24, 23, 0), utc(2026, 10, 26, 0, 0))
    # 23:30 UTC in summer is already tomorrow on the store's clock.
    assert local_date(utc(2026, 7, 1, 23, 30), LONDON).isoformat() == "2026-07-02"
    assert local_day_bounds(utc(2026, 7, 1, 23, 30), LONDON)[0] == utc(2026, 7, 1, 23, 0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="must differ"):
        LocalWindow(time(8), time(8))
    with pytest.raises(ValueError, match="timezone-aware"):
        NIGHT.contains(datetime(2026, 1, 1, 23, 0), LONDON)
    for bad in ("24:00", "7:00", "07:60", "0700", "noon"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_hhmm(bad)
    assert parse_hhmm("07:05") == time(7, 5)
