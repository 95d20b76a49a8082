"""Ingest over a real mosquitto into the real presence service on SQLite."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from beacon_agent.mqtt_session import BrokerAddress, persistent_client
from beacon_agent.protocol import (
    SIGHTINGS,
    STATUS,
    Sighting,
    SightingsReport,
    agent_topic,
    dump_report,
)
from store_hub.adapters.db.engine import Database
from store_hub.adapters.mqtt_ingest import MqttIngest
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.operations.enrollment import Consents, enroll_device, revoke_device
from store_hub.operations.events import VisitEnded, VisitStarted
from store_hub.operations.presence import PresenceService
from tests.fixtures.mosquitto import Broker

pytestmark = pytest.mark.integration
STORE = "s042"
KEY = bytes(range(16))


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class Rig:
    def __init__(self, broker: Broker, tmp_path: Path) -> None:
        self.now = datetime.now(UTC)
        self.db = Database.connect(f"sqlite:///{tmp_path}/hub.db")
        with self.db.transaction() as session:
            self.device_id = enroll_device(
                session, "c0001", Consents(True, True, True), 10, self.now, identity_key=KEY
            ).id
        self.events: list[VisitStarted | VisitEnded] = []
        self.presence = PresenceService(self.db, STORE, timedelta(seconds=90), self.events.append)
        self.presence.load(self.now)
        self.ingest = MqttIngest(
            broker.url,
            "hub-test",
            STORE,
            self.presence,
            clock=lambda: self.now,
            tick_interval_s=3600,
        )
        self.ingest.start()
        assert self.ingest.connected.wait(5)
        self.publisher = persistent_client("agent-test")
        address = BrokerAddress.parse(broker.url)
        self.publisher.connect(address.host, address.port)
        self.publisher.loop_start()

    def send(self, topic: str, payload: bytes | str) -> None:
        self.publisher.publish(topic, payload, qos=1).wait_for_publish(5)

    def report(
        self,
        seq: int,
        token: str | None = None,
        boot: str = "b1",
        agent_clock: timedelta = timedelta(0),
    ) -> str:
        agent_now = self.now + agent_clock
        sighting = Sighting(
            token=token or eid_token(compute_eid(KEY, 10, int(self.now.timestamp()))),
            rssi=-60.0,
            samples=3,
            first_seen=agent_now,
            last_seen=agent_now,
        )
        report = SightingsReport(STORE, "door-1", boot, seq, agent_now, (sighting,))
        return json.dumps(dump_report(report))

    def close(self) -> None:
        self.publisher.loop_stop()
        self.ingest.stop()
        self.db.dispose()


@pytest.fixture
def rig(mosquitto: Broker, tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(mosquitto, tmp_path)
    yield rig
    rig.close()


SIGHTINGS_TOPIC = agent_topic("", STORE, "door-1", SIGHTINGS)


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
    wait_until(lambda: len(rig.events) == 1)
    assert rig.ingest.counters["rejected"] == len(bad) + 1
    assert rig.ingest.counters["accepted"] == 1
    assert isinstance(rig.events[0], VisitStarted)
    assert rig.events[0].customer_id == "c0001"


def test_duplicate_report_changes_nothing(rig: Rig) -> None:
    payload = rig.report(7)
    rig.send(SIGHTINGS_TOPIC, payload)
    rig.send(SIGHTINGS_TOPIC, payload)
    wait_until(lambda: rig.presence.counters["duplicate"] == 1)
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
    wait_until(lambda: len(rig.events) == 1)
    rig.presence.tick(rig.now + timedelta(seconds=91))
    assert isinstance(rig.events[1], VisitEnded)
    assert rig.events[1].visit_id == rig.events[0].visit_id


def test_an_agent_clock_minutes_behind_is_corrected_and_late_reports_ignored(rig: Rig) -> None:
    behind = timedelta(minutes=-5)
    rig.send(SIGHTINGS_TOPIC, rig.report(0, agent_clock=behind))
    wait_until(lambda: len(rig.events) == 1)
    # Taken at face value the sighting would be 5 minutes old and depart at once.
    rig.presence.tick(rig.now + timedelta(seconds=30))
    assert len(rig.events) == 1
    assert rig.presence.agent_clock_offsets()["door-1"] == pytest.approx(300, abs=0.01)
    # A report flushed from the spool ten minutes late says nothing about now.
    rig.send(SIGHTINGS_TOPIC, rig.report(1, agent_clock=behind - timedelta(minutes=10)))
    wait_until(lambda: rig.presence.counters["late_report"] == 1)
    assert rig.presence.counters["reports"] == 1
