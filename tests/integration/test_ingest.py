"""Ingest over a real mosquitto into the real presence service on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from beacon_agent.protocol import STATUS, agent_topic
from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.models import Visit
from store_hub.operations.agent_health import health_view
from store_hub.operations.enrollment import revoke_device
from store_hub.operations.events import ShopperQuiet, VisitEnded, VisitResumed, VisitStarted
from tests.fixtures.ingest_rig import SETTLE, STORE, Rig, sightings_topic, wait_until
from tests.fixtures.mosquitto import Broker

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(mosquitto: Broker, tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(mosquitto, tmp_path)
    yield rig
    rig.close()


SIGHTINGS_TOPIC = sightings_topic()


def test_malformed_messages_are_counted_and_dropped_and_ingest_goes_on(rig: Rig) -> None:
    bad = [
        b"\xff\xfe not utf-8",
        b"{not json",
        b"[]",
        json.dumps({"v": 1}).encode(),
        rig.report(0).replace('"rssi": -60.0', '"rssi": "loud"').encode(),
        # payload says another agent than the topic
        rig.report(0).replace('"agent_id": "door-1"', '"agent_id": "door-2"').encode(),
    ]
    for payload in bad:
        rig.send(SIGHTINGS_TOPIC, payload)
    rig.send(agent_topic("", STORE, "door-1", STATUS), b'{"v": 1, "state": "sleepy"}')
    rig.send(SIGHTINGS_TOPIC, rig.report(1))
    rig.settle(1)
    assert len(rig.events) == 1
    assert rig.ingest.counters["rejected"] == len(bad) + 1
    assert rig.ingest.counters["accepted"] == 1
    assert isinstance(rig.events[0], VisitStarted)
    assert rig.events[0].customer_id == "c0001"


def test_duplicate_report_changes_nothing(rig: Rig) -> None:
    payload = rig.report(7)
    rig.send(SIGHTINGS_TOPIC, payload)
    rig.send(SIGHTINGS_TOPIC, payload)
    wait_until(lambda: rig.presence.counters["duplicate"] == 1)
    rig.settle(1)
    assert rig.presence.counters["reports"] == 1
    assert len(rig.events) == 1
    # Same seq from a new boot is a new report.
    rig.send(SIGHTINGS_TOPIC, rig.report(7, boot="b2"))
    wait_until(lambda: rig.presence.counters["reports"] == 2)


def test_unknown_tokens_are_counted_and_forgotten(rig: Rig) -> None:
    rig.send(SIGHTINGS_TOPIC, rig.report(0, token="eid:0000000000000000"))
    wait_until(lambda: rig.presence.counters["unknown_token"] == 1)
    assert rig.events == []


def test_revocation_takes_effect_on_the_next_report(rig: Rig) -> None:
    with rig.db.transaction() as session:
        revoked = revoke_device(session, rig.device_id, rig.now)
    rig.presence.device_changed(revoked, rig.now)
    rig.send(SIGHTINGS_TOPIC, rig.report(0))
    wait_until(lambda: rig.presence.counters["unknown_token"] == 1)
    assert rig.events == []


def test_agent_status_and_last_will_are_kept(rig: Rig) -> None:
    topic = agent_topic("", STORE, "door-1", STATUS)
    rig.send(topic, json.dumps({"v": 1, "state": "online", "version": "0.1", "ads_per_s": 12}))
    wait_until(lambda: "door-1" in rig.ingest.agent_status)
    assert rig.ingest.agent_status["door-1"]["telemetry"] == {"ads_per_s": 12}
    rig.send(topic, json.dumps({"v": 1, "state": "offline"}))
    wait_until(lambda: rig.ingest.agent_status["door-1"]["state"] == "offline")


def test_departure_after_away_timeout_closes_the_visit(rig: Rig) -> None:
    rig.send(SIGHTINGS_TOPIC, rig.report(0))
    rig.settle(1)
    assert len(rig.events) == 1
    rig.presence.tick(rig.now + timedelta(seconds=91))
    assert isinstance(rig.events[1], VisitEnded)
    assert rig.events[1].visit_id == rig.events[0].visit_id


def test_an_agent_clock_minutes_behind_is_corrected_and_late_reports_ignored(rig: Rig) -> None:
    behind = timedelta(minutes=-5)
    rig.send(SIGHTINGS_TOPIC, rig.report(0, agent_clock=behind))
    rig.settle(1)
    assert len(rig.events) == 1
    # Taken at face value the sighting would be 5 minutes old and depart at once; 30 s after
    # it the phone is only quiet.
    rig.presence.tick(rig.now + timedelta(seconds=30))
    assert [type(e) for e in rig.events] == [VisitStarted, ShopperQuiet]
    assert rig.presence.agent_clock_offsets()["door-1"] == pytest.approx(300, abs=0.01)
    # A report flushed from the spool ten minutes late says nothing about now.
    rig.send(SIGHTINGS_TOPIC, rig.report(1, agent_clock=behind - timedelta(minutes=10)))
    wait_until(lambda: rig.presence.counters["late_report"] == 1)
    assert rig.presence.counters["reports"] == 1


def health(rig: Rig, agent_id: str) -> dict[str, Any]:
    rig.presence.tick(rig.now)  # the ingest's tick writes the agents' numbers
    view = health_view(rig.db, rig.topology, rig.presence.agent_clock_offsets())
    return next(a for a in view if a["agent_id"] == agent_id)


def test_gaps_are_counted_per_boot_and_a_new_boot_starts_afresh(rig: Rig) -> None:
    for count, (seq, boot, gaps) in enumerate(
        [(0, "b1", 0), (1, "b1", 0), (4, "b1", 2), (3, "b1", 1), (0, "b2", 0), (2, "b2", 1)],
        start=1,
    ):
        rig.send(SIGHTINGS_TOPIC, rig.report(seq, boot=boot))
        wait_until(lambda count=count: rig.presence.counters["reports"] == count)  # type: ignore[misc]
        assert rig.ledger.gaps("door-1") == gaps, (seq, boot)
    agent = health(rig, "door-1")
    assert (agent["boot_id"], agent["gaps"], agent["report_count"]) == ("b2", 1, 6)
    assert agent["duplicates"] == 0
    assert agent["last_report_at"] == rig.now


def test_unregistered_agent_is_quarantined_until_it_approves_it(rig: Rig) -> None:
    fitting = sightings_topic("fit-1")
    rig.send(fitting, rig.report(0, agent="fit-1"))
    wait_until(lambda: rig.presence.counters["quarantined"] == 1)
    assert rig.events == []
    agent = health(rig, "fit-1")
    assert (agent["approval"], agent["zone_id"], agent["report_count"]) == ("quarantined", None, 1)
    assert agent["first_seen_at"] == rig.now

    rig.topology.put_zone("fitting-1", "Fitting room 1", "fitting_room", 4.0, 7.5, rig.now)
    rig.topology.approve_agent("fit-1", "fitting-1", rig.now)
    rig.send(fitting, rig.report(1, agent="fit-1"))
    # Its next report, a second later, settles the arrival: in its zone, so it is named.
    rig.now += SETTLE
    rig.send(fitting, rig.report(2, agent="fit-1"))
    wait_until(lambda: len(rig.events) == 1)
    started = rig.events[0]
    assert isinstance(started, VisitStarted)
    assert (started.zone, started.zone_id, started.agent_id) == (
        "Fitting room 1",
        "fitting-1",
        "fit-1",
    )
    with rig.db.transaction() as session:
        segments = [(s.zone, s.left_at) for s in repo.visit_segments(session, started.visit_id)]
    assert segments == [("fitting-1", None)]
    assert health(rig, "fit-1")["report_count"] == 3


def test_reentry_within_the_window_continues_the_visit_and_after_it_starts_a_new_one(
    rig: Rig,
) -> None:
    t0 = rig.now
    rig.send(SIGHTINGS_TOPIC, rig.report(0))
    rig.settle(1)
    first = rig.events[0]
    assert isinstance(first, VisitStarted) and first.zone == "Entrance"
    rig.presence.tick(t0 + timedelta(seconds=91))
    assert isinstance(rig.events[1], VisitEnded)

    # Back 59 s after the departure: within the 120 s window, the same visit goes on.
    rig.now = t0 + timedelta(seconds=150)
    rig.send(SIGHTINGS_TOPIC, rig.report(1))
    rig.settle(2)
    resumed = rig.events[2]
    assert isinstance(resumed, VisitResumed)
    assert (resumed.visit_id, resumed.zone) == (first.visit_id, "Entrance")
    with rig.db.transaction() as session:
        visit = session.get(Visit, first.visit_id)
        assert visit is not None and visit.departed_at is None
        segments = [(s.entered_at, s.left_at) for s in repo.visit_segments(session, visit.id)]
    # Arrival waits a second for the other agents' reports; the unheard second is not dwell.
    assert segments == [(t0 + SETTLE, t0 + SETTLE), (rig.now + SETTLE, None)]
    assert rig.presence.counters["arrivals"] == 1

    # Gone again, and back 121 s after that departure: a new visit and a new arrival.
    departed_at = rig.now + timedelta(seconds=91)
    rig.presence.tick(departed_at)
    assert isinstance(rig.events[3], VisitEnded) and rig.events[3].visit_id == first.visit_id
    rig.now = departed_at + timedelta(seconds=121)
    rig.send(SIGHTINGS_TOPIC, rig.report(2))
    rig.settle(3)
    second = rig.events[4]
    assert isinstance(second, VisitStarted) and second.visit_id != first.visit_id
    with rig.db.transaction() as session:
        assert len(session.scalars(select(Visit)).all()) == 2


def test_hub_restart_mid_visit_keeps_one_visit(rig: Rig) -> None:
    first_report = rig.report(0)
    rig.send(SIGHTINGS_TOPIC, first_report)
    rig.settle(1)
    visit_id = rig.events[0].visit_id
    rig.presence.tick(rig.now)

    rig.restart_hub()
    assert rig.presence.present() == {rig.device_id: "entrance"}
    rig.now += timedelta(seconds=10)
    # A redelivery of a report from before the restart is still a duplicate, and a new report
    # continues the restored visit: no second arrival.
    rig.send(SIGHTINGS_TOPIC, first_report)
    rig.send(SIGHTINGS_TOPIC, rig.report(1))
    wait_until(lambda: rig.presence.counters["reports"] == 1)
    assert rig.presence.counters["duplicate"] == 1
    assert len(rig.events) == 1

    rig.presence.tick(rig.now + timedelta(seconds=91))
    ended = rig.events[1]
    assert isinstance(ended, VisitEnded)
    assert (ended.visit_id, ended.last_seen) == (visit_id, rig.now)
    with rig.db.transaction() as session:
        visits = session.scalars(select(Visit)).all()
        assert [(v.id, v.departed_at is not None) for v in visits] == [(visit_id, True)]


def test_status_and_last_will_reach_the_agent_table(rig: Rig) -> None:
    topic = agent_topic("", STORE, "door-1", STATUS)
    telemetry = {
        "advertisements_per_s": 41.5,
        "tokens_present": 3,
        "last_advertisement_age_s": 0.2,
        "scanner_restarts": 1,
        "spool_depth": 0,
    }
    rig.send(topic, json.dumps({"v": 1, "state": "online", "version": "0.2", **telemetry}))
    wait_until(lambda: health(rig, "door-1")["state"] == "online")
    agent = health(rig, "door-1")
    assert agent["telemetry"]["version"] == "0.2"
    assert {k: agent["telemetry"][k] for k in telemetry} == telemetry
    rig.send(topic, json.dumps({"v": 1, "state": "offline"}))
    wait_until(lambda: health(rig, "door-1")["state"] == "offline")
    # The last will says nothing else: the last telemetry stays on show.
    assert health(rig, "door-1")["telemetry"]["tokens_present"] == 3
