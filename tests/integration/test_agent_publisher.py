"""The agent as its own process against a real mosquitto: order, outages, kill -9, hub config.

The outage test takes about 35 s: the broker is away for 20 s, and paho's reconnect back-off
(1 s doubling to 30 s) may add up to ~16 s before the agents notice it is back.
"""

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from beacon_agent.protocol import format_timestamp, load_report
from beacon_agent.spool import Spool
from store_hub.demo.walks import Visit, advertisements
from store_hub.domain.eid import compute_eid, eid_token
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


OUTAGE_S = 20.0
# A rotation boundary (K = 10: EIDs change every 1024 s), so the shopper keeps one token.
LONG_START = datetime.fromtimestamp(1024 * 1_753_400, UTC)


def long_trace(path: Path) -> tuple[Path, str]:
    """A shopper who stays ~55 s (trace time): long enough to keep reporting through the outage."""
    key = bytes.fromhex("02c9ead2ae6b5d2c54a9e1ac8957c9f3")
    visit = Visit(identity_key=key, rotation_exponent=10, enter_s=1.0, stay_s=55.0)
    header = {"trace": 1, "recorded_at": format_timestamp(LONG_START), "note": "a long visit"}
    lines = [json.dumps(header)]
    lines += [json.dumps(record) for record in advertisements([visit], LONG_START, 57.0)]
    path.write_text("\n".join(lines) + "\n")
    return path, eid_token(compute_eid(key, 10, int(LONG_START.timestamp())))


def test_a_20_s_broker_outage_loses_nothing_even_when_the_agent_is_killed_during_it(
    durable_broker: Broker, tmp_path: Path
) -> None:
    """door-1 replays straight through the outage; door-2 is killed during it and restarted."""
    trace, token = long_trace(tmp_path / "long.trace.jsonl")
    subscriber = Subscriber(durable_broker)
    door1_spool = tmp_path / "door-1-spool.db"
    door2_spool = tmp_path / "door-2-spool.db"
    extra = ["--drain-timeout", "60"]

    def start(agent: str, trace_path: Path, speed: float) -> subprocess.Popen[str]:
        command = replay_command(trace_path, agent_config(tmp_path, durable_broker, agent), speed)
        return subprocess.Popen(
            command + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )

    door1 = start("door-1", trace, speed=2)
    door2 = start("door-2", trace, speed=2)
    restarted: subprocess.Popen[str] | None = None
    try:
        wait_until(lambda: len(subscriber.reports()) >= 2 and bool(subscriber.reports("door-2")))
        # Stop between two of door-1's reports (one every 0.5 s at speed 2), after an ack.
        seen = len(subscriber.reports())
        wait_until(lambda: len(subscriber.reports()) > seen)
        time.sleep(0.15)
        durable_broker.stop()
        outage_began = time.monotonic()
        seen_before = len(subscriber.reports())

        # door-2 builds a backlog, is killed with it on disk, and starts again (broker still
        # away) with nothing new to replay: only the spool to flush.
        wait_until(lambda: spool_depth(door2_spool) >= 5, timeout=10)
        door2.send_signal(signal.SIGKILL)
        door2.wait(timeout=5)
        spool = Spool(door2_spool)
        stranded = [json.loads(row.payload) for row in spool.pending(limit=1000)]
        spool.close()
        empty = tmp_path / "empty.trace.jsonl"
        empty.write_text(json.dumps({"trace": 1, "recorded_at": "2026-11-25T09:00:00Z"}) + "\n")
        restarted = start("door-2", empty, speed=0)

        # Meanwhile door-1 keeps reporting into its spool.
        depths = []
        while time.monotonic() - outage_began < OUTAGE_S:
            depths.append(spool_depth(door1_spool))
            time.sleep(2)
        assert depths == sorted(depths) and depths[-1] >= depths[0] + 15, depths
        durable_broker.start()

        _, stderr = door1.communicate(timeout=60)
        assert door1.returncode == 0, stderr
        _, stderr = restarted.communicate(timeout=60)
        assert restarted.returncode == 0, stderr
        wait_until(lambda: any(r["departed"] for r in subscriber.reports()), timeout=10)
        time.sleep(0.5)

        # door-1: every report exactly once, in order, the outage's included.
        reports = subscriber.reports()
        seqs = [r["seq"] for r in reports]
        assert seqs == list(range(len(reports))), seqs
        assert len({r["boot_id"] for r in reports}) == 1
        assert len(reports) >= seen_before + 2 * OUTAGE_S * 0.8, "the outage's reports arrived"
        assert all([s["token"] for s in r["sightings"]] == [token] for r in reports[:-1])
        assert reports[-1]["departed"] == [token]
        # The status sent on reconnecting showed the backlog; the spool is empty now.
        online = [m.payload for m in subscriber.statuses() if m.payload["state"] == "online"]
        on_reconnect = [s for s in online if s["connects"] == 2]
        assert on_reconnect and on_reconnect[0]["spool_depth"] >= depths[-1]
        assert spool_depth(door1_spool) == 0

        # door-2: the reports stranded by the kill arrived after the restart, with their
        # original boot_id, seq and sent_at; before them, everything it made, in order.
        first_boot = stranded[0]["boot_id"]
        door2_reports = subscriber.reports("door-2")
        assert {r["boot_id"] for r in door2_reports} == {first_boot}
        # At-least-once: a report in flight when the broker stopped may come twice (the hub
        # drops it by (boot_id, seq)); none is missing and the order holds.
        unique = list({r["seq"]: r for r in door2_reports}.values())
        assert [r["seq"] for r in unique] == list(range(stranded[-1]["seq"] + 1))
        assert unique[-len(stranded) :] == stranded
        assert spool_depth(door2_spool) == 0
    finally:
        for process in (door1, door2, restarted):
            if process is not None and process.poll() is None:
                process.kill()
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
    # A config without send_levels means "no levels" (a hub that does not know them).
    assert state["config"] == {
        "calibration_offset_db": -4.5,
        "zone": "fitting-rooms",
        "send_levels": False,
    }
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


def test_a_hub_that_asks_for_levels_gets_them_in_reports_its_schema_accepts(
    mosquitto: Broker, subscriber: Subscriber, tmp_path: Path
) -> None:
    pushed = {"v": 1, "calibration_offset_db": -4.5, "send_levels": True}
    subscriber.client.publish(
        f"stores/{STORE}/agents/door-1/config", json.dumps(pushed), qos=1, retain=True
    ).wait_for_publish(5)
    result = run_replay(TRACE, agent_config(tmp_path, mosquitto))
    assert result.returncode == 0, result.stderr

    wait_until(lambda: any(r["departed"] for r in subscriber.reports()))
    reports = [r for r in subscriber.reports() if r["sightings"]]
    assert reports
    for wire in reports:
        loaded = load_report(wire)  # what the hub's ingest runs
        for sighting, raw in zip(loaded.sightings, wire["sightings"], strict=True):
            assert 1 <= len(sighting.levels) <= sighting.samples
            assert raw["levels"] == [list(level) for level in sighting.levels]
            offsets = [offset for offset, _ in sighting.levels]
            assert offsets == sorted(offsets)
            span = (sighting.last_seen - sighting.first_seen).total_seconds() * 1000
            assert offsets[-1] == pytest.approx(span, abs=1)
    online = [m.payload for m in subscriber.statuses() if m.payload["state"] == "online"]
    assert online[-1]["send_levels"] is True
