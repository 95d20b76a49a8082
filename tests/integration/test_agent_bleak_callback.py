"""bleak's detection callback -> pipeline -> spool -> a real mosquitto, with bleak's own types.

No adapter here: BleakSource gets a real `BleakScanner` built on a custom backend (bleak's own
extension point) that delivers advertisements the way bleak's platform backends do:
`create_or_update_device(...)` then `call_detection_callbacks(device, advertisement_data)`.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import paho.mqtt.client as mqtt
import pytest
from bleak import BleakScanner
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from paho.mqtt.enums import CallbackAPIVersion

from beacon_agent.config import AgentConfig
from beacon_agent.pipeline import Agent, Ticker
from beacon_agent.protocol import load_report, load_status
from beacon_agent.sources import BleakSource, DetectionCallback, Scanner
from store_hub.domain.eid import compute_eid, eid_token
from tests.fixtures.mosquitto import Broker

pytestmark = pytest.mark.integration

IDENTITY_KEY = bytes.fromhex("e2f1b3a9c4d5e6f708192a3b4c5d6e7f")
EDDYSTONE = "0000feaa-0000-1000-8000-00805f9b34fb"
ADDRESS = "5A:3C:11:9E:42:07"  # a phone's resolvable private address
LOCAL_NAME = "Jane's Pixel"


class FakeBackend(BaseBleakScanner):
    """A bleak scanner backend without a radio: the test decides what is 'heard'."""

    instances: ClassVar[list[FakeBackend]] = []

    def __init__(
        self, detection_callback: Any, service_uuids: Any, scanning_mode: str, **kwargs: Any
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self.scanning_mode = scanning_mode
        self.kwargs = kwargs
        self.scanning = False
        FakeBackend.instances.append(self)

    async def start(self) -> None:
        self.seen_devices = {}
        self.scanning = True

    async def stop(self) -> None:
        self.scanning = False

    def hear(self, address: str, advertisement: AdvertisementData) -> None:
        """Deliver one advertisement as bleak's BlueZ backend does."""
        assert self.scanning
        device = self.create_or_update_device(
            address, address, advertisement.local_name, None, advertisement
        )
        self.call_detection_callbacks(device, advertisement)


def eid_advertisement(moment: float, rssi: int) -> AdvertisementData:
    """What a phone running the retailer's app advertises at POSIX time `moment`."""
    eid = compute_eid(IDENTITY_KEY, 10, int(moment))
    return AdvertisementData(
        local_name=LOCAL_NAME,
        manufacturer_data={0x0075: b"\x42\x04\x01\x80"},  # some vendor's extra data, ignored
        service_data={EDDYSTONE: bytes([0x30, 0xEC]) + eid},
        service_uuids=[EDDYSTONE],
        tx_power=None,
        rssi=rssi,
        platform_data=(),
    )


class Subscriber:
    """A hub-like QoS 1 subscriber to every agent channel of the store."""

    def __init__(self, broker: Broker) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bleak-test-hub")
        self.client.on_connect = lambda client, *_: client.subscribe(
            "stores/s042/agents/+/+", qos=1
        )
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber(mosquitto: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(mosquitto)
    try:
        yield sub
    finally:
        sub.close()


def test_a_bleak_detection_reaches_the_broker_as_a_valid_report_without_the_address(
    mosquitto: Broker, subscriber: Subscriber, tmp_path: Path
) -> None:
    FakeBackend.instances.clear()
    if 1024 - time.time() % 1024 < 3:
        time.sleep(3)  # keep the phone's EID from rotating mid-test (K = 10: every 1024 s)
    config = AgentConfig().with_overrides(
        broker_url=mosquitto.url,
        report_interval_s=0.2,
        debounce_s=0.3,
        min_samples=3,
        away_timeout_s=5,
        spool_path=str(tmp_path / "spool.db"),
        state_path=str(tmp_path / "state.json"),
    )
    agent = Agent(config, clock=time.time)
    ticker = Ticker(agent.pipeline)

    def scanner_factory(callback: DetectionCallback) -> Scanner:
        # The production factory with the radio swapped out: same BleakScanner, same callback.
        return BleakScanner(callback, scanning_mode="active", backend=FakeBackend)

    source = BleakSource(agent.pipeline.on_advertisement, scanner_factory=scanner_factory)
    agent.start()
    assert agent.publisher.wait_ready(10)
    ticker.start()
    heard_at: list[float] = []

    async def scan() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(source.run(stop))
        while not FakeBackend.instances or not FakeBackend.instances[0].scanning:
            await asyncio.sleep(0.01)
        for rssi in (-62, -60, -61, -59, -63, -60, -58, -61):
            heard_at.append(time.time())
            FakeBackend.instances[0].hear(ADDRESS, eid_advertisement(heard_at[-1], rssi))
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # let the ticker collect the last ones
        stop.set()
        await task

    try:
        asyncio.run(scan())
        ticker.stop()
        assert agent.publisher.wait_drained(10)
        agent.publisher.publish_status()
        time.sleep(0.3)
    finally:
        agent.stop(drain_timeout=5)

    assert source.advertisements == 8
    assert not FakeBackend.instances[0].scanning, "the scan was stopped"
    received: list[tuple[str, bytes]] = []
    while not subscriber.messages.empty():
        received.append(subscriber.messages.get_nowait())
    sightings = [p for t, p in received if t == "stores/s042/agents/door-1/sightings"]
    statuses = [p for t, p in received if t == "stores/s042/agents/door-1/status"]
    assert sightings, "at least one report was published"
    reports = [load_report(json.loads(payload)) for payload in sightings]
    token = eid_token(compute_eid(IDENTITY_KEY, 10, int(heard_at[0])))
    assert [r.seq for r in reports] == list(range(len(reports)))
    assert all([s.token for s in r.sightings] == [token] for r in reports)
    assert sum(s.samples for r in reports for s in r.sightings) >= 5  # after the debounce
    assert all(-64 <= s.rssi <= -57 for r in reports for s in r.sightings)
    assert all(s.tx_power == -20 and s.distance_m is not None for r in reports for s in r.sightings)
    online = [load_status(json.loads(p)) for p in statuses if json.loads(p)["state"] == "online"]
    assert online and online[-1]["telemetry"]["frames"] == {"eddystone-eid": 8}

    # Nothing that identifies the phone's radio, in any spelling, in anything published.
    forms = {ADDRESS, ADDRESS.lower(), ADDRESS.replace(":", ""), ADDRESS.replace(":", "").lower()}
    for _topic, payload in received:
        text = payload.decode()
        assert not any(form in text for form in forms), text
        assert LOCAL_NAME not in text
