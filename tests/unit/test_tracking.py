"""Token tracking with injected time: debounce, smoothing, distance, departures, memory."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from beacon_agent.frames import TokenFrame
from beacon_agent.protocol import Sighting, SightingsReport, dump_report, load_report
from beacon_agent.tracking import TokenTracker, TrackingSettings

T0 = 1_764_000_000.0
EID = TokenFrame("eid:0123456789abcdef", -20, "eddystone-eid")  # 1 m reference: -61 dBm
IB = TokenFrame("ib:01234567", -59, "ibeacon")
SETTINGS = TrackingSettings()
MEAN = replace(SETTINGS, trend=False)  # the window's robust mean instead of a fitted line


def hear(
    tracker: TokenTracker, frame: TokenFrame, rssi: list[float], start: float, step: float = 0.5
) -> float:
    """Feed one advertisement per `step` seconds; return the time of the last one."""
    now = start
    for n, value in enumerate(rssi):
        now = start + n * step
        tracker.observe(frame, value, now)
    return now


def present_tracker(frame: TokenFrame = EID, settings: TrackingSettings = SETTINGS) -> TokenTracker:
    """A tracker where `frame` has passed the debounce by T0 + 2 and the interval was collected."""
    tracker = TokenTracker(settings)
    hear(tracker, frame, [-60.0] * 5, T0)
    sightings, _ = tracker.collect(T0 + 2.5)
    assert [s.token for s in sightings] == [frame.token]
    return tracker


def only(sightings: tuple[Sighting, ...]) -> Sighting:
    assert len(sightings) == 1
    return sightings[0]


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


# --- debounce -------------------------------------------------------------------------------


def test_a_single_stray_advertisement_is_not_presence() -> None:
    tracker = TokenTracker(SETTINGS)
    tracker.observe(EID, -60.0, T0)
    assert tracker.collect(T0 + 1) == ((), ())
    assert tracker.present_count() == 0


def test_a_burst_on_three_advertising_channels_is_not_presence() -> None:
    tracker = TokenTracker(SETTINGS)
    hear(tracker, EID, [-60.0, -61.0, -62.0], T0, step=0.004)
    assert tracker.collect(T0 + 1) == ((), ())
    assert tracker.present_count() == 0


def test_presence_after_min_samples_over_debounce_time() -> None:
    tracker = TokenTracker(SETTINGS)
    hear(tracker, EID, [-60.0, -60.0], T0, step=1.0)
    assert tracker.present_count() == 0
    tracker.observe(EID, -60.0, T0 + 2.0)
    assert tracker.present_count() == 1
    sighting = only(tracker.collect(T0 + 2.5)[0])
    assert sighting.samples == 3
    assert (sighting.first_seen, sighting.last_seen) == (at(0), at(2.0))


def test_debounce_restarts_after_a_long_silence() -> None:
    tracker = TokenTracker(SETTINGS)
    tracker.observe(EID, -60.0, T0)
    tracker.observe(EID, -60.0, T0 + 1)
    # 30 s later: two more advertisements 1 s apart are a new run of 2, not 4 samples over 32 s.
    hear(tracker, EID, [-60.0, -60.0], T0 + 31, step=1.0)
    assert tracker.present_count() == 0
    tracker.observe(EID, -60.0, T0 + 33)
    assert tracker.present_count() == 1


# --- smoothing ------------------------------------------------------------------------------


def test_a_six_db_fade_is_rejected() -> None:
    tracker = present_tracker()
    hear(tracker, EID, [-60.0] * 9 + [-66.0], T0 + 3)
    sighting = only(tracker.collect(T0 + 9)[0])
    assert sighting.rssi == pytest.approx(-60.0)  # a plain mean would say -60.6
    assert sighting.samples == 10


def test_outliers_both_ways_are_rejected_but_noise_is_averaged() -> None:
    tracker = present_tracker(settings=MEAN)
    samples = [-62.0, -58.0, -61.0, -59.0, -45.0, -60.0, -78.0, -61.0, -59.0, -60.0]
    hear(tracker, EID, samples, T0 + 3, step=0.25)
    sighting = only(tracker.collect(T0 + 9)[0])
    # Median -60; the +15 dB reflection and the -18 dB fade are dropped; the rest average -60.
    assert sighting.rssi == pytest.approx(-60.0)


def test_the_mean_follows_a_lasting_change_once_it_is_the_majority() -> None:
    tracker = present_tracker(settings=MEAN)
    hear(tracker, EID, [-60.0] * 8, T0 + 3)  # up to T0 + 6.5
    tracker.collect(T0 + 7)
    hear(tracker, EID, [-72.0] * 4, T0 + 7, step=0.25)  # 8 of -60 and 4 of -72 in the 4 s
    assert only(tracker.collect(T0 + 8)[0]).rssi == pytest.approx(-60.0)
    hear(tracker, EID, [-72.0] * 6, T0 + 8, step=0.25)  # now 6 of -60 and 10 of -72
    assert only(tracker.collect(T0 + 10)[0]).rssi == pytest.approx(-72.0)


def ramp(start: float, slope: float, count: int, step: float) -> list[float]:
    return [start + slope * n * step for n in range(count)]


def test_the_fitted_line_follows_a_walk_without_lag_where_the_mean_lags() -> None:
    # Walking away from the agent: -3 dB/s at 10 Hz, for 4 s.
    samples = ramp(-60.0, -3.0, 40, 0.1)
    line, mean = present_tracker(), present_tracker(settings=MEAN)
    for tracker in (line, mean):
        hear(tracker, EID, samples, T0 + 3, step=0.1)
    assert only(line.collect(T0 + 7)[0]).rssi == pytest.approx(samples[-1])
    # The mean reports where the phone was half a window (2 s, 6 dB) ago.
    assert only(mean.collect(T0 + 7)[0]).rssi == pytest.approx(samples[-1] + 5.85)


def test_the_fitted_line_ignores_a_fade_on_the_newest_sample() -> None:
    # The newest sample has the most leverage on a line: a least-squares fit through this one
    # would end 2.5 dB low.
    samples = ramp(-60.0, -3.0, 40, 0.1)
    tracker = present_tracker()
    hear(tracker, EID, [*samples[:-1], samples[-1] - 6.0], T0 + 3, step=0.1)
    assert only(tracker.collect(T0 + 7)[0]).rssi == pytest.approx(samples[-1])


def test_the_window_spans_window_s_but_keeps_a_slow_phones_last_samples() -> None:
    settings = replace(MEAN, window_s=1.0, window_min_samples=3)
    fast = present_tracker(settings=settings)
    hear(fast, EID, [-80.0] * 10 + [-60.0] * 10, T0 + 3, step=0.1)  # 10 Hz: 1 s is 10 samples
    assert only(fast.collect(T0 + 5)[0]).rssi == pytest.approx(-60.0)
    slow = present_tracker(settings=settings)
    hear(slow, EID, [-80.0, -80.0, -60.0, -60.0], T0 + 3, step=1.0)  # 1 Hz: the last 3
    assert only(slow.collect(T0 + 7)[0]).rssi == pytest.approx(-60.0)
    hear(slow, EID, [-63.0], T0 + 7)  # the sample from T0 + 5 is still one of the last 3
    assert only(slow.collect(T0 + 8)[0]).rssi == pytest.approx(-61.0)


def test_window_is_bounded_and_restarts_after_a_silence() -> None:
    tracker = present_tracker(settings=replace(MEAN, window_size=4, window_min_samples=3))
    hear(tracker, EID, [-50.0] * 3 + [-70.0] * 4, T0 + 3)
    assert only(tracker.collect(T0 + 7)[0]).rssi == pytest.approx(-70.0)
    tracker.observe(EID, -80.0, T0 + 30)  # 24 s of silence: the -70s describe another place
    assert only(tracker.collect(T0 + 31)[0]).rssi == pytest.approx(-80.0)


def test_shrinking_the_window_at_run_time_keeps_the_newest_samples() -> None:
    tracker = present_tracker(settings=MEAN)
    hear(tracker, EID, [-60.0] * 7 + [-70.0] * 3, T0 + 3)
    tracker.update_settings(replace(MEAN, window_size=3, window_min_samples=3))
    tracker.collect(T0 + 8)
    hear(tracker, EID, [-70.0], T0 + 8)
    assert only(tracker.collect(T0 + 9)[0]).rssi == pytest.approx(-70.0)


def test_invalid_rssi_is_ignored_but_counts_as_radio_activity() -> None:
    tracker = present_tracker()
    tracker.observe(EID, 127.0, T0 + 5)  # HCI "RSSI not available"
    tracker.observe(EID, math.nan, T0 + 6)
    assert tracker.collect(T0 + 7) == ((), ())
    assert tracker.last_advertisement_at() == T0 + 6


# --- calibration and distance ----------------------------------------------------------------


def test_calibration_offset_is_added_and_can_change_at_run_time() -> None:
    tracker = present_tracker(settings=replace(SETTINGS, calibration_offset_db=3.5))
    hear(tracker, EID, [-60.0] * 4, T0 + 3)
    assert only(tracker.collect(T0 + 5)[0]).rssi == pytest.approx(-56.5)
    tracker.update_settings(replace(SETTINGS, calibration_offset_db=-2.0))
    hear(tracker, EID, [-60.0] * 4, T0 + 5)
    assert only(tracker.collect(T0 + 7)[0]).rssi == pytest.approx(-62.0)
    assert tracker.present_count() == 1


def test_calibrated_rssi_stays_within_the_wire_range() -> None:
    tracker = present_tracker(settings=replace(SETTINGS, calibration_offset_db=40.0))
    hear(tracker, EID, [-10.0] * 10, T0 + 3)
    assert only(tracker.collect(T0 + 8)[0]).rssi == 20.0


@pytest.mark.parametrize(
    ("frame", "rssi", "metres"),
    [
        (EID, -61.0, 1.0),  # Eddystone -20 dBm at 0 m -> -61 dBm at 1 m
        (EID, -81.0, 10.0),
        (IB, -59.0, 1.0),  # iBeacon measured power is already at 1 m
        (IB, -65.0, 10 ** (6 / 20)),
        (EID, -125.0, 50.0),  # clamped far
        (EID, -20.0, 0.1),  # clamped near
    ],
)
def test_distance_from_the_log_distance_model(
    frame: TokenFrame, rssi: float, metres: float
) -> None:
    tracker = TokenTracker(SETTINGS)
    hear(tracker, frame, [rssi] * 5, T0)
    sighting = only(tracker.collect(T0 + 3)[0])
    assert sighting.distance_m == pytest.approx(metres)
    assert sighting.tx_power == frame.tx_power


def test_distance_uses_path_loss_exponent_and_configured_reference() -> None:
    settings = replace(SETTINGS, reference_rssi_1m=-55.0, path_loss_exponent=3.0)
    tracker = TokenTracker(settings)
    hear(tracker, EID, [-85.0] * 5, T0)
    assert only(tracker.collect(T0 + 3)[0]).distance_m == pytest.approx(10.0)


@pytest.mark.parametrize(
    "frame",
    [
        TokenFrame("eid:0123456789abcdef", None, "eddystone-eid"),
        TokenFrame("ib:01234567", 0, "ibeacon"),  # measured power 0: "not calibrated"
    ],
)
def test_no_distance_without_a_plausible_reference(frame: TokenFrame) -> None:
    tracker = TokenTracker(SETTINGS)
    hear(tracker, frame, [-60.0] * 5, T0)
    assert only(tracker.collect(T0 + 3)[0]).distance_m is None


# --- departures ------------------------------------------------------------------------------


def test_departure_after_away_timeout_is_reported_exactly_once() -> None:
    tracker = present_tracker()
    last = T0 + 2.0
    assert tracker.collect(last + 89.0) == ((), ())
    assert tracker.present_count() == 1
    assert tracker.collect(last + 90.0) == ((), (EID.token,))
    assert tracker.present_count() == 0
    assert tracker.collect(last + 91.0) == ((), ())
    assert tracker.collect(last + 500.0) == ((), ())


def test_a_locked_phone_quiet_for_a_minute_does_not_depart() -> None:
    tracker = present_tracker()
    for second in range(3, 65):
        assert tracker.collect(T0 + second)[1] == ()
    hear(tracker, EID, [-60.0] * 2, T0 + 65)
    assert only(tracker.collect(T0 + 66)[0]).samples == 2


def test_re_arrival_after_departure_debounces_again() -> None:
    tracker = present_tracker()
    assert tracker.collect(T0 + 100)[1] == (EID.token,)
    tracker.observe(EID, -60.0, T0 + 120)
    assert tracker.collect(T0 + 121) == ((), ())
    hear(tracker, EID, [-60.0] * 4, T0 + 121)
    sighting = only(tracker.collect(T0 + 123)[0])
    assert sighting.samples == 4  # those since the last collect
    assert sighting.first_seen == at(121)
    assert tracker.present_count() == 1


def test_tokens_that_never_became_present_never_depart() -> None:
    tracker = TokenTracker(SETTINGS)
    tracker.observe(EID, -60.0, T0)
    assert tracker.collect(T0 + 100) == ((), ())
    assert tracker.tracked_count() == 0


# --- memory ----------------------------------------------------------------------------------


def test_many_one_off_tokens_are_forgotten_after_the_away_timeout() -> None:
    tracker = present_tracker(settings=replace(SETTINGS, max_tokens=100_000))
    most = 0
    # 100 new one-off tokens a second for 200 s, collected every second.
    for n in range(20_000):
        now = T0 + 3 + n * 0.01
        tracker.observe(TokenFrame(f"eid:{n:016x}", -20, "eddystone-eid"), -80.0, now)
        if n % 100 == 99:
            hear(tracker, EID, [-60.0], now)
            tracker.collect(now)
            most = max(most, tracker.tracked_count())
    # Never more than the last away_timeout's worth (90 s x 100/s) plus the phone that stays.
    assert 8_900 < most <= 9_002
    end = T0 + 3 + 200
    hear(tracker, EID, [-60.0], end + 80)
    sightings, departed = tracker.collect(end + 90)
    assert (only(sightings).token, departed) == (EID.token, ())
    assert tracker.tracked_count() == 1
    assert tracker.present_count() == 1


def test_a_flood_of_new_tokens_cannot_exceed_max_tokens() -> None:
    tracker = present_tracker(settings=replace(SETTINGS, max_tokens=100))
    for n in range(1000):
        tracker.observe(TokenFrame(f"ib:{n:08x}", -59, "ibeacon"), -80.0, T0 + 3)
    assert tracker.tracked_count() == 100
    assert tracker.dropped == 901
    hear(tracker, EID, [-60.0] * 3, T0 + 3)
    assert only(tracker.collect(T0 + 4)[0]).token == EID.token


# --- output ----------------------------------------------------------------------------------


def test_interval_bounds_and_samples_are_per_collect() -> None:
    tracker = present_tracker()
    hear(tracker, EID, [-60.0] * 3, T0 + 3.25, step=0.25)
    sighting = only(tracker.collect(T0 + 4)[0])
    assert (sighting.first_seen, sighting.last_seen, sighting.samples) == (at(3.25), at(3.75), 3)
    assert tracker.collect(T0 + 5) == ((), ())  # present but not heard: nothing to report


def test_collect_output_round_trips_through_the_wire_schema() -> None:
    tracker = TokenTracker(replace(SETTINGS, calibration_offset_db=1.25))
    hear(tracker, EID, [-67.0, -68.0, -66.0, -90.0, -67.0], T0)
    hear(tracker, IB, [-70.0] * 5, T0 + 0.2)
    tracker.collect(T0 + 3)
    hear(tracker, EID, [-67.0] * 3, T0 + 3)
    sightings, departed = tracker.collect(T0 + 4)
    report = SightingsReport(
        store_id="s042",
        agent_id="door-1",
        boot_id="5f0c2d",
        seq=118,
        sent_at=at(4.25),
        sightings=sightings,
        departed=(*departed, "eid:fedcba9876543210"),
    )
    loaded = load_report(json.loads(json.dumps(dump_report(report))))
    assert [s.token for s in loaded.sightings] == [EID.token]
    # A flat line through the samples of the last 4 s without the -90 fade, + 1.25 dB.
    assert loaded.sightings[0].rssi == pytest.approx(-65.7, abs=0.05)
    assert loaded.sightings[0].distance_m == pytest.approx(sightings[0].distance_m, abs=0.005)
    assert loaded.sightings[0].first_seen == at(3)
    assert loaded.departed == ("eid:fedcba9876543210",)


def test_first_report_of_both_kinds_validates() -> None:
    tracker = TokenTracker(SETTINGS)
    hear(tracker, EID, [-67.0] * 5, T0)
    hear(tracker, IB, [-70.0] * 5, T0 + 0.2)
    sightings, _ = tracker.collect(T0 + 3)
    report = SightingsReport("s042", "door-1", "b", 0, at(3), sightings)
    loaded = load_report(json.loads(json.dumps(dump_report(report))))
    assert {s.token for s in loaded.sightings} == {EID.token, IB.token}
    assert all(s.samples == 5 for s in loaded.sightings)


def test_last_advertisement_time_and_non_token_notes() -> None:
    tracker = TokenTracker(SETTINGS)
    assert tracker.last_advertisement_at() is None
    tracker.observe(EID, -60.0, T0)
    assert tracker.last_advertisement_at() == T0
    tracker.note_advertisement(T0 + 5)
    assert tracker.last_advertisement_at() == T0 + 5


@pytest.mark.parametrize(
    "bad",
    [
        {"away_timeout_s": 0.0},
        {"min_samples": 0},
        {"window_size": 0},
        {"window_s": 0.0},
        {"window_min_samples": 0},
        {"window_min_samples": 11, "window_size": 10},
        {"path_loss_exponent": 0.0},
        {"calibration_offset_db": math.nan},
    ],
)
def test_nonsense_settings_are_rejected(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrackingSettings(**bad)


# --- per-advertisement levels (opt-in) ---------------------------------------------------------

LEVELS = replace(SETTINGS, send_levels=True)


def test_levels_are_off_by_default() -> None:
    assert SETTINGS.send_levels is False
    tracker = present_tracker()
    hear(tracker, EID, [-60.0, -70.0, -65.0], T0 + 3)
    sighting = only(tracker.collect(T0 + 5)[0])
    assert sighting.levels == ()
    assert (
        "levels"
        not in dump_report(SightingsReport("s", "a", "b", 0, at(5), (sighting,)))["sightings"][0]
    )


def test_levels_are_each_calibrated_sample_since_the_last_collect_oldest_first() -> None:
    tracker = present_tracker(settings=replace(LEVELS, calibration_offset_db=1.3))
    hear(tracker, EID, [-60.0, -62.5, -71.0], T0 + 3.25, step=0.25)
    sighting = only(tracker.collect(T0 + 4)[0])
    # Offsets are ms after first_seen; the -71 fade is in the levels though the filter drops it.
    assert sighting.first_seen == at(3.25)
    assert sighting.levels == ((0, -58.7), (250, -61.2), (500, -69.7))
    assert sighting.rssi == pytest.approx(-59.9, abs=0.5)
    assert sighting.samples == 3


def test_level_offsets_are_whole_milliseconds_and_reset_after_each_collect() -> None:
    tracker = present_tracker(settings=LEVELS)
    hear(tracker, EID, [-60.0] * 10, T0 + 3, step=0.1)
    first = only(tracker.collect(T0 + 4)[0])
    assert [offset for offset, _ in first.levels] == [n * 100 for n in range(10)]
    hear(tracker, EID, [-61.0, -62.0], T0 + 4.5, step=0.333)
    second = only(tracker.collect(T0 + 5)[0])
    assert second.first_seen == at(4.5)
    assert second.levels == ((0, -61.0), (333, -62.0))
    assert tracker.collect(T0 + 6) == ((), ())  # not heard since: no sighting, no levels


def test_levels_are_clamped_to_the_wire_range_like_rssi() -> None:
    loud = present_tracker(settings=replace(LEVELS, calibration_offset_db=40.0))
    hear(loud, EID, [-10.0, -25.0], T0 + 3)
    assert only(loud.collect(T0 + 4)[0]).levels == ((0, 20.0), (500, 15.0))
    quiet = present_tracker(settings=replace(LEVELS, calibration_offset_db=-40.0))
    hear(quiet, EID, [-100.0, -80.0], T0 + 3)
    assert only(quiet.collect(T0 + 4)[0]).levels == ((0, -127.0), (500, -120.0))


def test_at_most_64_levels_the_newest() -> None:
    tracker = TokenTracker(replace(LEVELS, window_size=100, window_s=30.0))
    values = [-40.0 - 0.5 * n for n in range(80)]
    hear(tracker, EID, values, T0, step=0.1)
    sighting = only(tracker.collect(T0 + 8)[0])
    assert sighting.samples == 80
    assert len(sighting.levels) == 64
    assert sighting.levels[0] == (1600, -48.0)
    assert sighting.levels[-1] == (7900, -79.5)


def test_a_report_interval_longer_than_the_window_sends_the_windows_newest_levels() -> None:
    tracker = present_tracker(settings=LEVELS)
    hear(tracker, EID, [-60.0] * 10, T0 + 3, step=1.0)
    sighting = only(tracker.collect(T0 + 13)[0])
    # window_s = 4: samples older than 4 s before the newest are no longer held.
    assert sighting.samples == 10
    assert [offset for offset, _ in sighting.levels] == [5000, 6000, 7000, 8000, 9000]


def test_a_clock_stepped_back_keeps_offsets_non_decreasing_and_valid_on_the_wire() -> None:
    tracker = present_tracker(settings=LEVELS)
    for moment in (3.0, 3.5, 3.2, 3.8):
        tracker.observe(EID, -60.0, T0 + moment)
    sighting = only(tracker.collect(T0 + 4)[0])
    assert [offset for offset, _ in sighting.levels] == [0, 500, 500, 800]
    report = SightingsReport("s042", "door-1", "b", 0, at(4), (sighting,))
    loaded = load_report(json.loads(json.dumps(dump_report(report)))).sightings[0]
    assert loaded.levels == sighting.levels
    # Stepped forward by two hours: the silence restarts the window and the offset is clamped.
    tracker.observe(EID, -61.0, T0 + 5)
    tracker.observe(EID, -62.0, T0 + 5 + 7200)
    assert only(tracker.collect(T0 + 5 + 7201)[0]).levels == ((3_600_000, -62.0),)


def test_levels_can_be_turned_on_at_run_time_from_the_next_collect() -> None:
    tracker = present_tracker()
    hear(tracker, EID, [-60.0] * 2, T0 + 3)
    tracker.update_settings(LEVELS)
    assert only(tracker.collect(T0 + 4)[0]).levels == ((0, -60.0), (500, -60.0))
    tracker.update_settings(SETTINGS)
    hear(tracker, EID, [-60.0] * 2, T0 + 4)
    assert only(tracker.collect(T0 + 5)[0]).levels == ()
