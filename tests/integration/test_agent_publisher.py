"""The agent as its own process against a real mosquitto: order, outages, kill -9, hub config."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from beacon_agent.spool import Spool
from tests.fixtures.mosquitto import Broker

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "tests" / "data" / "walkin.trace.jsonl"
TOKEN = "eid:a0156ddac064192a"
STORE = "s042"


@dataclass
class Message:
    topic: str
    payload: Any
    retain: bool


class Subscriber:
    """A QoS 1 subscriber with a persistent session, like the hub's."""

    def __init__(self, broker: Broker, client_id: str = "test-hub") -> None:
        self.messages: queue.Queue[Message] = queue.Queue()
        self.seen: list[Message] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)  # type: ignore[arg-type]
        self.subscribed = False
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: setattr(self, "subscribed", True)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        wait_until(lambda: self.subscribed)

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(f"stores/{STORE}/agents/+/+", qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            payload = json.loads(message.payload)
        except ValueError:
            payload = message.payload
        self.messages.put(Message(message.topic, payload, bool(message.retain)))

    def pump(self) -> list[Message]:
        while True:
            try:
                self.seen.append(self.messages.get_nowait())
            except queue.Empty:
                return self.seen

    def reports(self, agent: str = "door-1") -> list[dict[str, Any]]:
        topic = f"stores/{STORE}/agents/{agent}/sightings"
        return [m.payload for m in self.pump() if m.topic == topic]

    def statuses(self, agent: str = "door-1") -> list[Message]:
        topic = f"stores/{STORE}/agents/{agent}/status"
        return [m for m in self.pump() if m.topic == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def durable_broker(mosquitto: Broker, tmp_path: Path) -> Broker:
    """The fixture's broker, restarted with persistence so sessions outlive a restart."""
    mosquitto.stop()
    text = mosquitto.config.read_text().replace("persistence false", "persistence true")
    text += f"persistence_location {tmp_path}/\n"
    if os.geteuid() == 0:
        text += "user root\n"  # else mosquitto drops to a user that cannot write tmp_path
    mosquitto.config.write_text(text)
    mosquitto.start()
    return mosquitto


@pytest.fixture
def subscriber(mosquitto: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(mosquitto)
    try:
        yield sub
    finally:
        sub.close()


def agent_config(tmp_path: Path, broker: Broker, agent: str = "door-1", **extra: Any) -> Path:
    values: dict[str, Any] = {
        "store_id": STORE,
        "agent_id": agent,
        "broker_url": broker.url,
        "away_timeout_s": 3,
        "spool_path": str(tmp_path / f"{agent}-spool.db"),
        "state_path": str(tmp_path / f"{agent}-state.json"),
        "status_interval_s": 60,
        **extra,
    }
    path = tmp_path / f"{agent}.toml"
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items()))
    return path


def replay_command(trace: Path, config: Path, speed: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "beacon_agent",
        "replay",
        str(trace),
        "--config",
        str(config),
        "--speed",
        str(speed),
    ]


def run_replay(trace: Path, config: Path, speed: float = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        replay_command(trace, config, speed), capture_output=True, text=True, timeout=30, cwd=ROOT
    )


def spool_depth(path: Path) -> int:
    spool = Spool(path)
    try:
        return spool.depth()
    finally:
        spool.close()


def test_replay_publishes_ordered_reports_then_departure_and_goes_offline(
    mosquitto: Broker, subscriber: Subscriber, tmp_path: Path
) -> None:
    config = agent_config(tmp_path, mosquitto)
    result = run_replay(TRACE, config, speed=0)
    assert result.returncode == 0, result.stderr

    wait_until(lambda: any(r["departed"] for r in subscriber.reports()))
    reports = subscriber.reports()
    assert [r["seq"] for r in reports] == list(range(len(reports)))
    assert len({r["boot_id"] for r in reports}) == 1
    assert all((r["store_id"], r["agent_id"]) == (STORE, "door-1") for r in reports)
    # Arrival sightings first, then one report with the departure and nothing after it.
    *heard, last = reports
    assert heard and all([s["token"] for s in r["sightings"]] == [TOKEN] for r in heard)
    assert all(r["departed"] == [] for r in heard)
    assert last["departed"] == [TOKEN]
    # The trace's clock, not the wall clock: the trace was recorded on 2026-11-24 10:00 UTC.
    assert reports[0]["sent_at"].startswith("2026-11-24T10:00:")
    assert heard[0]["sightings"][0]["first_seen"] < heard[-1]["sightings"][0]["last_seen"]

    wait_until(lambda: subscriber.statuses()[-1].payload["state"] == "offline")
    statuses = subscriber.statuses()
    online = [m.payload for m in statuses if m.payload["state"] == "online"]
    assert online, "an online status was published on connect"
    assert {"version", "started_at", "spool_depth", "tokens_present", "boot_id"} <= set(online[0])
    assert online[0]["boot_id"] == reports[0]["boot_id"]
    assert statuses[-1].payload == {"v": 1, "state": "offline"}

    # The offline status is retained: a hub that connects later sees it.
    late = Subscriber(mosquitto, client_id="late-hub")
    try:
        wait_until(lambda: bool(late.statuses()))
        assert late.statuses()[-1].retain
        assert late.statuses()[-1].payload["state"] == "offline"
    finally:
        late.close()
    assert spool_depth(tmp_path / "door-1-spool.db") == 0


def test_broker_outage_mid_replay_loses_nothing_and_keeps_order(
    durable_broker: Broker, tmp_path: Path
) -> None:
    subscriber = Subscriber(durable_broker)
    agent = subprocess.Popen(
        replay_command(TRACE, agent_config(tmp_path, durable_broker), speed=2),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        wait_until(lambda: len(subscriber.reports()) >= 2, timeout=15)
        # Stop between two reports (one every 0.5 s at speed 2), after the last one was acked.
        time.sleep(0.15)
        durable_broker.stop()
        seen_before = len(subscriber.reports())
        time.sleep(3)
        durable_broker.start()
        _, stderr = agent.communicate(timeout=40)
        assert agent.returncode == 0, stderr
        wait_until(lambda: any(r["departed"] for r in subscriber.reports()), timeout=10)
        time.sleep(0.3)
        reports = subscriber.reports()
        seqs = [r["seq"] for r in reports]
        assert seqs == list(range(len(reports))), seqs
        assert len(reports) > seen_before + 3, "reports made during the outage arrived"
        assert reports[-1]["departed"] == [TOKEN]
        reconnected = [m.payload for m in subscriber.statuses() if m.payload["state"] == "online"]
        assert max(status["connects"] for status in reconnected) >= 2
        assert spool_depth(tmp_path / "door-1-spool.db") == 0
    finally:
        if agent.poll() is None:
            agent.kill()
        subscriber.close()


def test_reports_spooled_before_a_kill_9_are_sent_by_the_next_start(
    durable_broker: Broker, tmp_path: Path
) -> None:
    subscriber = Subscriber(durable_broker)
    config = agent_config(tmp_path, durable_broker)
    spool_path = tmp_path / "door-1-spool.db"
    agent = subprocess.Popen(
        replay_command(TRACE, config, speed=2),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        wait_until(lambda: len(subscriber.reports()) >= 1, timeout=15)
        time.sleep(0.15)
        durable_broker.stop()
        wait_until(lambda: spool_depth(spool_path) >= 3, timeout=10)
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=5)
    finally:
        if agent.poll() is None:
            agent.kill()
    spool = Spool(spool_path)
    stranded = [json.loads(row.payload) for row in spool.pending(limit=1000)]
    spool.close()
    first_boot = stranded[0]["boot_id"]
    assert [r["seq"] for r in stranded] == list(
        range(stranded[0]["seq"], stranded[0]["seq"] + len(stranded))
    )

    durable_broker.start()
    empty = tmp_path / "empty.trace.jsonl"
    empty.write_text('{"trace": 1, "recorded_at": "2026-11-25T09:00:00.000Z", "note": "none"}\n')
    result = run_replay(empty, config, speed=0)
    assert result.returncode == 0, result.stderr

    wait_until(lambda: len(subscriber.reports()) >= stranded[-1]["seq"] + 1, timeout=10)
    time.sleep(0.3)
    reports = subscriber.reports()
    assert {r["boot_id"] for r in reports} == {first_boot}
    assert [r["seq"] for r in reports] == list(range(stranded[-1]["seq"] + 1))
    # Flushed after the restart with their original payload: seq, sent_at and all.
    assert reports[-len(stranded) :] == stranded
    assert spool_depth(spool_path) == 0
    subscriber.close()


def test_retained_hub_config_changes_calibration_and_is_persisted(
    mosquitto: Broker, subscriber: Subscriber, tmp_path: Path
) -> None:
    baseline = run_replay(TRACE, agent_config(tmp_path, mosquitto, agent="door-2"))
    assert baseline.returncode == 0, baseline.stderr
    wait_until(lambda: bool(subscriber.reports("door-2")))
    reference = subscriber.reports("door-2")[0]["sightings"][0]["rssi"]

    config_topic = f"stores/{STORE}/agents/door-1/config"
    pushed = {"v": 1, "calibration_offset_db": -4.5, "zone": "fitting-rooms"}
    subscriber.client.publish(
        config_topic, json.dumps(pushed), qos=1, retain=True
    ).wait_for_publish(5)
    config = agent_config(tmp_path, mosquitto)
    result = run_replay(TRACE, config)
    assert result.returncode == 0, result.stderr

    wait_until(lambda: bool(subscriber.reports()))
    assert subscriber.reports()[0]["sightings"][0]["rssi"] == pytest.approx(reference - 4.5)
    state = json.loads((tmp_path / "door-1-state.json").read_text())
    assert state["config"] == {"calibration_offset_db": -4.5, "zone": "fitting-rooms"}
    online = [m.payload for m in subscriber.statuses() if m.payload["state"] == "online"]
    assert online[-1]["zone"] == "fitting-rooms"
    assert online[-1]["calibration_offset_db"] == -4.5

    # A malformed config is ignored; the persisted one still applies on the next start.
    subscriber.client.publish(config_topic, b"{not json", qos=1, retain=True).wait_for_publish(5)
    subscriber.seen.clear()
    again = run_replay(TRACE, config)
    assert again.returncode == 0, again.stderr
    assert "ignoring a malformed config message" in again.stderr
    wait_until(lambda: bool(subscriber.reports()))
    assert subscriber.reports()[0]["sightings"][0]["rssi"] == pytest.approx(reference - 4.5)
