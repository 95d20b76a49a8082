from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store_hub.domain.fusion import (
    Arrived,
    Departed,
    Dwell,
    FusionEvent,
    FusionSettings,
    HeardAgain,
    PresenceFusion,
    Reading,
    WentQuiet,
    ZoneChanged,
    confidence,
)

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AGENT_ZONE = {"door": "entrance", "fit": "fitting", "w1": "womens", "w2": "womens"}
SETTINGS = FusionSettings(
    margin_db=3.0,
    hold_s=3.0,
    stale_after_s=6.0,
    away_timeout_s=90.0,
    dwell_thresholds_s={"*": (60.0, 300.0), "fitting": (120.0,)},
    settle_s=1.0,
    clear_margin_db=10.0,
)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def heard(
    fusion: PresenceFusion, at: float, device: str = "d1", **rssi: float
) -> list[FusionEvent]:
    """Readings from several agents at one moment, as one report round."""
    events: list[FusionEvent] = []
    for agent, value in rssi.items():
        events += fusion.observe(Reading(device, agent, AGENT_ZONE[agent], value, s(at)))
    return events


def run(fusion: PresenceFusion, start: int, end: int, **rssi: float) -> list[FusionEvent]:
    """The same readings every second from `start` to `end` (exclusive), with ticks."""
    events: list[FusionEvent] = []
    for second in range(start, end):
        events += heard(fusion, second, "d1", **rssi)
        events += fusion.tick(s(second))
    return events


def arrived_in_entrance() -> PresenceFusion:
    fusion = PresenceFusion(SETTINGS)
    assert [type(e) for e in run(fusion, 0, 2, door=-60.0, w1=-75.0)] == [Arrived]
    return fusion


def changes(events: list[FusionEvent]) -> list[ZoneChanged]:
    return [e for e in events if isinstance(e, ZoneChanged)]


def test_arrival_waits_to_settle_then_takes_the_strongest_zone() -> None:
    fusion = PresenceFusion(SETTINGS)
    # A far agent's report happens to come in first; the near one's follows within the second.
    assert heard(fusion, 0.0, w1=-80.0) == []
    assert heard(fusion, 0.4, door=-60.0) == []
    assert fusion.present() == {}
    events = fusion.tick(s(1.0))
    assert len(events) == 1
    arrival = events[0]
    assert isinstance(arrival, Arrived)
    assert (arrival.device_id, arrival.at, arrival.zone) == ("d1", s(1.0), "entrance")
    assert arrival.confidence == pytest.approx(confidence(20.0))
    assert arrival.confidence > 0.99
    assert fusion.present() == {"d1": "entrance"}
    assert heard(fusion, 1.5, door=-60.0) == []  # no second arrival


def test_challenger_within_the_margin_never_takes_over() -> None:
    fusion = arrived_in_entrance()
    events = run(fusion, 2, 120, door=-70.0, w1=-67.5)  # 2.5 dB stronger, for two minutes
    assert changes(events) == []
    assert fusion.present() == {"d1": "entrance"}


def test_challenger_beyond_the_margin_takes_over_only_after_the_hold() -> None:
    fusion = arrived_in_entrance()
    before = run(fusion, 2, 5, door=-70.0, w1=-65.0)  # leads by 5 dB from t=2
    assert changes(before) == []
    after = changes(run(fusion, 5, 6, door=-70.0, w1=-65.0))
    assert [(c.at, c.from_zone, c.to_zone) for c in after] == [(s(5), "entrance", "womens")]
    assert after[0].confidence == pytest.approx(confidence(5.0))
    assert fusion.present() == {"d1": "womens"}


def test_a_brief_spike_does_not_flip_the_zone() -> None:
    fusion = arrived_in_entrance()
    events = run(fusion, 2, 4, door=-70.0, w1=-62.0)  # 8 dB for 2 s: below the clear margin
    events += run(fusion, 4, 30, door=-62.0, w1=-70.0)
    assert changes(events) == []
    assert fusion.present() == {"d1": "entrance"}


def test_a_lead_that_dips_below_the_margin_restarts_the_hold() -> None:
    fusion = arrived_in_entrance()
    events = run(fusion, 2, 4, door=-70.0, w1=-65.0)
    events += run(fusion, 4, 5, door=-70.0, w1=-68.0)  # lead 2 dB: the hold starts over
    events += run(fusion, 5, 8, door=-70.0, w1=-65.0)
    assert changes(events) == []
    assert [c.at for c in changes(run(fusion, 8, 9, door=-70.0, w1=-65.0))] == [s(8)]


def test_a_zone_change_is_dated_from_when_the_new_zone_began_to_lead() -> None:
    fusion = arrived_in_entrance()
    events = run(fusion, 2, 4, door=-70.0, w1=-71.0)  # the entrance still leads
    events += run(fusion, 4, 6, door=-70.0, w1=-68.0)  # womens ahead, within the margin
    events += run(fusion, 6, 10, door=-70.0, w1=-65.0)  # beyond it: the hold runs from 6
    [change] = changes(events)
    # Sure at 9 (after the 3 s hold); the shopper crossed when womens first led, at 4.
    assert (change.at, change.entered_at, change.to_zone) == (s(9), s(4), "womens")


def test_a_lead_that_was_lost_counts_only_from_when_it_came_back() -> None:
    fusion = arrived_in_entrance()
    events = run(fusion, 2, 4, door=-70.0, w1=-68.0)  # womens ahead from 2
    events += run(fusion, 4, 5, door=-68.0, w1=-70.0)  # the entrance again
    events += run(fusion, 5, 9, door=-70.0, w1=-65.0)
    [change] = changes(events)
    assert (change.at, change.entered_at) == (s(8), s(5))


def test_the_next_change_counts_its_own_lead_afresh() -> None:
    fusion = arrived_in_entrance()
    # Womens leads (within the margin) from 2, then takes over at once with a clear lead at 3;
    # the fitting rooms, heard all along below it, take over at once at 5.
    events = run(fusion, 2, 3, door=-70.0, w1=-68.0, fit=-90.0)
    events += heard(fusion, 3.0, door=-80.0, w1=-60.0, fit=-90.0)
    events += heard(fusion, 5.0, door=-80.0, w1=-75.0, fit=-60.0)
    first, second = changes(events)
    assert (first.at, first.entered_at) == (s(3), s(2))
    assert (second.at, second.entered_at) == (s(5), s(5))


def test_a_clear_lead_takes_over_at_once() -> None:
    fusion = arrived_in_entrance()
    events = heard(fusion, 2.0, door=-75.0, w1=-60.0)
    assert [(c.at, c.to_zone) for c in changes(events)] == [(s(2.0), "womens")]


def test_zone_strength_is_the_strongest_of_its_agents() -> None:
    fusion = arrived_in_entrance()
    # w1 alone would be within the margin; w2 of the same zone clears it.
    events = run(fusion, 2, 6, door=-70.0, w1=-69.0, w2=-66.0)
    assert [c.to_zone for c in changes(events)] == ["womens"]


def test_stale_readings_age_out_and_the_remaining_zone_wins() -> None:
    fusion = arrived_in_entrance()
    heard(fusion, 2.0, door=-60.0, fit=-80.0)
    # The door agent stops hearing the device; the fitting-room agent still does, weakly.
    events: list[FusionEvent] = []
    for second in range(3, 8):
        events += heard(fusion, second, fit=-80.0) + fusion.tick(s(second))
    assert changes(events) == []  # the door reading (t=2) is still fresh up to t=8
    events = heard(fusion, 8.5, fit=-80.0)  # the door reading is now stale: settle, not hold
    events += fusion.tick(s(9.0))
    events += heard(fusion, 9.5, fit=-80.0)
    assert [(c.at, c.from_zone, c.to_zone) for c in changes(events)] == [
        (s(9.5), "entrance", "fitting")
    ]


def test_dwell_fires_once_per_threshold_per_zone_stay() -> None:
    fusion = arrived_in_entrance()  # in the entrance since t=1
    events = run(fusion, 2, 400, door=-60.0)
    dwells = [e for e in events if isinstance(e, Dwell)]
    assert [(d.zone, d.threshold_s, d.at) for d in dwells] == [
        ("entrance", 60.0, s(61)),
        ("entrance", 300.0, s(301)),
    ]
    assert dwells[0].seconds == pytest.approx(60.0)
    # A new stay in another zone starts its own count, with that zone's thresholds.
    events = run(fusion, 400, 700, door=-80.0, fit=-60.0)
    moved = changes(events)
    assert [c.to_zone for c in moved] == ["fitting"]
    dwells = [e for e in events if isinstance(e, Dwell)]
    assert [(d.zone, d.threshold_s) for d in dwells] == [("fitting", 120.0)]
    assert dwells[0].at == moved[0].at + timedelta(seconds=120)


def test_dwell_keeps_counting_while_a_locked_phone_is_quiet() -> None:
    fusion = arrived_in_entrance()
    heard(fusion, 2.0, door=-60.0)
    events: list[FusionEvent] = []
    for second in range(3, 80):
        events += fusion.tick(s(second))
    assert [(type(e), getattr(e, "threshold_s", None)) for e in events] == [
        (WentQuiet, None),
        (Dwell, 60.0),
    ]
    assert fusion.present() == {"d1": "entrance"}


def test_a_phone_nobody_hears_for_the_stale_time_is_only_where_it_was_last_heard() -> None:
    fusion = arrived_in_entrance()  # last heard at t=1
    assert fusion.tick(s(7.0)) == []
    assert fusion.tick(s(7.1)) == [WentQuiet("d1", s(7.1), "entrance", s(1.0))]
    assert fusion.tick(s(30.0)) == []  # said once
    assert fusion.present() == {"d1": "entrance"}  # the visit and its zone stay go on


def test_heard_again_where_it_went_quiet_confirms_the_zone() -> None:
    fusion = arrived_in_entrance()
    fusion.tick(s(20.0))
    # Confirmed once the other agents' reports are in, not on the first.
    assert heard(fusion, 25.0, door=-60.0, w1=-75.0) == []
    assert fusion.tick(s(26.0)) == [HeardAgain("d1", s(26.0), "entrance", confidence(15.0))]
    assert run(fusion, 26, 30, door=-60.0) == []
    assert fusion.tick(s(36.0)) == [WentQuiet("d1", s(36.0), "entrance", s(29.0))]


def test_heard_again_elsewhere_stays_last_heard_until_the_zone_changes() -> None:
    fusion = arrived_in_entrance()
    fusion.tick(s(20.0))
    # The fitting room leads by more than the margin, less than the clear margin: it takes
    # the hold, and the entrance is only where the phone was last heard until then.
    events = run(fusion, 25, 35, door=-66.0, fit=-60.0)
    assert [(type(e), getattr(e, "to_zone", None)) for e in events] == [(ZoneChanged, "fitting")]
    assert events[0].at == s(28.0)
    # Heard again with its zone still the loudest (the entrance within the margin): confirmed.
    fusion.tick(s(50.0))
    assert heard(fusion, 51.0, door=-62.0, fit=-60.0) == []  # within the margin
    assert fusion.tick(s(52.0)) == [HeardAgain("d1", s(52.0), "fitting", confidence(2.0))]


def test_departure_after_the_away_timeout() -> None:
    fusion = arrived_in_entrance()
    heard(fusion, 10.0, door=-60.0)
    # Quiet since t=16, and 60 s in the entrance.
    assert [type(e) for e in fusion.tick(s(99.9))] == [WentQuiet, Dwell]
    assert fusion.present() == {"d1": "entrance"}
    assert fusion.tick(s(100.0)) == [Departed("d1", s(100.0), s(10.0), "entrance")]
    assert fusion.present() == {}
    assert fusion.tick(s(200.0)) == []


def test_departure_at_once_when_every_agent_says_so() -> None:
    fusion = arrived_in_entrance()  # heard by door and w1 up to t=1
    assert [type(e) for e in fusion.tick(s(61.0))] == [WentQuiet, Dwell]
    assert fusion.agent_lost("d1", "door", s(95.0)) == []
    assert fusion.present() == {"d1": "entrance"}
    assert fusion.agent_lost("d1", "w1", s(95.5)) == [Departed("d1", s(95.5), s(1.0), "entrance")]
    assert fusion.present() == {}
    assert fusion.agent_lost("d1", "w1", s(96.0)) == []


def test_an_agent_that_still_hears_the_device_is_not_believed_to_have_lost_it() -> None:
    # After an EID rotation the agent departs the old token while it hears the new one.
    fusion = arrived_in_entrance()
    heard(fusion, 80.0, door=-60.0)
    # w1 last heard it at t=1 (and nobody has for 11 s: quiet, not gone).
    assert [type(e) for e in fusion.agent_lost("d1", "w1", s(91.0))] == [WentQuiet]
    assert fusion.agent_lost("d1", "door", s(91.0)) == []  # door heard it 11 s ago
    assert fusion.present() == {"d1": "entrance"}


def test_restore_continues_without_a_new_arrival() -> None:
    fusion = PresenceFusion(SETTINGS)
    fusion.restore("d1", "fitting", zone_since=s(-200), last_seen=s(-5))
    assert fusion.present() == {"d1": "fitting"}
    events = run(fusion, 0, 10, fit=-60.0, door=-80.0)
    assert events == []  # no arrival, and the 120 s dwell was announced before the restart
    moved = changes(run(fusion, 10, 20, fit=-80.0, door=-60.0))
    assert [(c.from_zone, c.to_zone) for c in moved] == [("fitting", "entrance")]


def test_restore_fires_thresholds_crossed_while_the_hub_was_down_once() -> None:
    fusion = PresenceFusion(SETTINGS)
    fusion.restore("d1", "entrance", zone_since=s(-100), last_seen=s(-50))  # 50 s in at restart
    events = fusion.tick(s(0)) + fusion.tick(s(1))
    assert [(type(e), getattr(e, "threshold_s", None)) for e in events] == [
        (WentQuiet, None),  # not heard for 50 s
        (Dwell, 60.0),
    ]


def test_restore_of_a_quiet_device_neither_repeats_its_dwell_nor_misses_it_heard_again() -> None:
    fusion = PresenceFusion(SETTINGS)
    # Last seen 20 s into the stay, quiet since, 60 s threshold announced before the restart.
    fusion.restore(
        "d1", "entrance", zone_since=s(-100), last_seen=s(-80), quiet=True, dwell_reached_s=60
    )
    assert fusion.tick(s(0)) == []
    heard(fusion, 1.0, door=-60.0)
    assert fusion.tick(s(2.0)) == [HeardAgain("d1", s(2.0), "entrance", confidence(40.0))]


def test_restored_device_departs_when_an_agent_says_so_and_nobody_heard_it_since() -> None:
    fusion = PresenceFusion(SETTINGS)
    fusion.restore("d1", None, zone_since=s(0), last_seen=s(0))
    assert fusion.present() == {"d1": None}
    assert fusion.agent_lost("d1", "door", s(90)) == [Departed("d1", s(90), s(0), None)]


def test_restored_without_a_zone_gets_one_from_the_first_readings() -> None:
    fusion = PresenceFusion(SETTINGS)
    fusion.restore("d1", None, zone_since=s(0), last_seen=s(0))
    events = run(fusion, 1, 3, fit=-60.0)
    assert [(c.from_zone, c.to_zone) for c in changes(events)] == [(None, "fitting")]
    assert not any(isinstance(e, Arrived) for e in events)


def test_quiet_without_a_zone_stays_quiet_until_heard_and_placed() -> None:
    fusion = PresenceFusion(SETTINGS)
    fusion.restore("d1", None, zone_since=s(0), last_seen=s(0), quiet=True)
    assert fusion.tick(s(1)) + fusion.tick(s(10)) == []
    events = run(fusion, 11, 13, fit=-60.0)
    assert [type(e) for e in events] == [ZoneChanged]  # no HeardAgain: the change says it


def test_re_arrival_after_departure() -> None:
    fusion = arrived_in_entrance()
    assert [type(e) for e in fusion.tick(s(91.0))] == [Departed]
    events = run(fusion, 200, 202, fit=-60.0)
    assert [(type(e), getattr(e, "zone", None)) for e in events] == [(Arrived, "fitting")]
    assert fusion.present() == {"d1": "fitting"}


def test_a_late_reading_does_not_replace_a_newer_one_from_the_same_agent() -> None:
    fusion = arrived_in_entrance()
    heard(fusion, 5.0, door=-70.0, w1=-60.0)  # w1 leads by 10 dB: womens at once
    assert fusion.present() == {"d1": "womens"}
    heard(fusion, 4.0, w1=-90.0)  # an older report, delivered late
    assert changes(run(fusion, 6, 7)) == []
    assert fusion.present() == {"d1": "womens"}


def test_devices_are_independent() -> None:
    fusion = PresenceFusion(SETTINGS)
    run(fusion, 0, 2, door=-60.0)
    for second in range(0, 2):
        heard(fusion, second, device="d2", fit=-60.0)
    fusion.tick(s(2))
    assert fusion.present() == {"d1": "entrance", "d2": "fitting"}


def test_confidence_grows_with_the_lead() -> None:
    assert confidence(0.0) == pytest.approx(0.5)
    assert confidence(-6.0) < 0.1 < 0.9 < confidence(6.0) <= 1.0
    assert 0.0 <= confidence(-1000.0) < confidence(1.0) < confidence(3.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"margin_db": -1.0},
        {"stale_after_s": 0.0},
        {"away_timeout_s": 5.0, "stale_after_s": 6.0},
        {"settle_s": 7.0, "stale_after_s": 6.0},
        {"clear_margin_db": 1.0, "margin_db": 2.0},
        {"dwell_thresholds_s": {"*": (0.0,)}},
    ],
)
def test_settings_that_make_no_sense_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FusionSettings(**bad)  # type: ignore[arg-type]


def test_an_agent_losing_a_device_nobody_heard_is_nothing() -> None:
    assert PresenceFusion(SETTINGS).agent_lost("nobody", "door", s(0)) == []


def test_restored_device_heard_again_then_unheard_departs_with_its_last_sighting() -> None:
    fusion = PresenceFusion(SETTINGS)
    fusion.restore("d1", "entrance", zone_since=s(-10), last_seen=s(0))
    assert heard(fusion, 5.0, door=-60.0) == []
    assert [type(e) for e in fusion.tick(s(94.9))] == [WentQuiet, Dwell]  # 60 s in the zone
    assert fusion.tick(s(95.0)) == [Departed("d1", s(95.0), s(5.0), "entrance")]
