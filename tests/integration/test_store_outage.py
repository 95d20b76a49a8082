"""The online store goes down mid-day: arrivals still reach the tablet at once, cards say their
data is cached, and everything recovers when the store is back.

A real mosquitto, the reference online store over HTTP (stopped and started on the same port),
the hub with its real cache and circuit breaker, and a Socket.IO client as the tablet.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from beacon_agent.mqtt_session import BrokerAddress, persistent_client
from beacon_agent.protocol import SIGHTINGS, Sighting, SightingsReport, agent_topic, dump_report
from store_hub.adapters.commerce import PolicyConnector
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.demo.online_store import RunningStore, serve_in_thread
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.hub import Hub, build_hub
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.server import HubServer
from tests.fixtures.mosquitto import Broker, free_port
from tests.fixtures.tablet_session import sign_in_over_http

pytestmark = pytest.mark.integration
STORE = "s042"
IT = {"Authorization": "Bearer test-it-key"}
KEYS = {"c0001": bytes(range(16)), "c0002": bytes(range(16, 32))}


class Floor:
    """The hub, an agent publishing over MQTT, a tablet listening, and the online store."""

    def __init__(self, hub: Hub, base: str, broker: Broker, store_port: int) -> None:
        self.hub = hub
        self.store_port = store_port
        self.online: RunningStore | None = serve_in_thread(port=store_port)
        self.agent = persistent_client(f"door-{free_port()}")
        address = BrokerAddress.parse(broker.url)
        self.agent.connect(address.host, address.port)
        self.agent.loop_start()
        self.seq = 0
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.tablet = socketio.Client()
        for name in ("arrived", "card_updated", "departed"):
            self.tablet.on(name, self._recorder(name), namespace="/floor")
        self.tablet.connect(
            base,
            headers=sign_in_over_http(base, hub),
            namespaces=["/floor"],
            auth={"store_id": STORE},
            transports=["websocket"],
        )

    def _recorder(self, name: str) -> Any:
        return lambda data: self.events.put((name, data))

    def report(self, customer: str) -> None:
        """Publish one door report for a shopper."""
        now = datetime.now(UTC)
        token = eid_token(compute_eid(KEYS[customer], 10, int(now.timestamp())))
        sighting = Sighting(token, -55.0, 5, now, now)
        report = SightingsReport(STORE, "door-1", "b1", self.seq, now, (sighting,))
        self.seq += 1
        topic = agent_topic("", STORE, "door-1", SIGHTINGS)
        self.agent.publish(topic, json.dumps(dump_report(report)), qos=1).wait_for_publish(5)

    def next(self, name: str, customer: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next event of this kind for this shopper."""
        deadline = time.monotonic() + timeout
        while True:
            got, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if got == name and data["customer_id"] == customer:
                return data

    def visit(self, customer: str) -> dict[str, Any]:
        """A shopper walks in: their `arrived` card as the tablet got it."""
        self.report(customer)
        return self.next("arrived", customer)

    def leave(self, customer: str) -> None:
        """The shopper goes quiet; wait until the hub's away timeout drops the card."""
        self.next("departed", customer, timeout=15)

    def stop_store(self) -> None:
        assert self.online is not None
        self.online.shutdown()
        self.online = None

    def start_store(self) -> None:
        self.online = serve_in_thread(port=self.store_port)

    def close(self) -> None:
        self.tablet.disconnect()
        self.agent.disconnect()
        self.agent.loop_stop()
        if self.online is not None:
            self.online.shutdown()


def breaker_state(floor: Floor) -> str:
    commerce = floor.hub.commerce
    assert isinstance(commerce, PolicyConnector)
    state: str = commerce.health()["breaker"]["state"]
    return state


@pytest.fixture
def floor(mosquitto: Broker, tmp_path: Path) -> Iterator[Floor]:
    store_port = free_port()
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        broker_url=mosquitto.url,
        it_api_key="test-it-key",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        commerce_url=f"http://127.0.0.1:{store_port}",
        commerce_timeout_s=0.5,
        # Short enough for a test: entries go stale after 1 s, the breaker opens after two
        # failed fetches and tries again after 1 s; every walk-in is a new visit.
        commerce_cache_ttl_s=1,
        commerce_breaker_failures=2,
        commerce_breaker_cooldown_s=1,
        reentry_window_s=0,
        away_timeout_s=5,
    )
    hub = build_hub(config)
    with hub.db.transaction() as session:
        for customer, key in KEYS.items():
            consents = Consents(presence=True, offers=False, associate_view=True)
            enroll_device(session, customer, consents, 10, datetime.now(UTC), key)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    hub.start()
    assert hub.ingest.connected.wait(5)
    api = f"{server.url}/api/v1/stores/{STORE}"
    zone = {"name": "Entrance", "kind": "entrance", "x_m": 0, "y_m": 0}
    assert requests.put(f"{api}/zones/entrance", json=zone, headers=IT, timeout=5).ok
    agent = {"zone_id": "entrance"}
    assert requests.put(f"{api}/agents/door-1", json=agent, headers=IT, timeout=5).ok
    rig = Floor(hub, server.url, mosquitto, store_port)
    try:
        yield rig
    finally:
        rig.close()
        server.stop()
        hub.stop()


def test_a_dead_online_store_delays_no_arrival_and_cards_say_their_data_is_cached(
    floor: Floor,
) -> None:
    # A normal day: the card fills in from the online store.
    floor.visit("c0001")
    live = floor.next("card_updated", "c0001")
    assert live["profile_status"] == "ok"
    assert "profile_cached_at" not in live
    name = live["profile"]["first_name"]
    floor.leave("c0001")

    floor.stop_store()
    time.sleep(1.2)  # the cached profile is now stale

    # c0001 is back while the store is down: the arrival goes out before the hub has asked the
    # store anything (it is still "pending"), so the outage cannot delay it. (Comparing the two
    # walk-ins' latencies proved nothing: arrivals settle on the hub's one-second tick, so two
    # walk-ins differ by up to a second whatever the store does.)
    arrived = floor.visit("c0001")
    assert arrived["profile_status"] == "pending"
    # ...the card fills in from the cache at once, and then says the store is unavailable.
    cached = floor.next("card_updated", "c0001")
    assert cached["profile"]["first_name"] == name
    cached_at = datetime.fromisoformat(cached["profile_cached_at"].replace("Z", "+00:00"))
    assert 1 < (datetime.now(UTC) - cached_at).total_seconds() < 30
    unavailable = cached
    while unavailable.get("profile_cache_reason") != "store_unavailable":
        unavailable = floor.next("card_updated", "c0001")
    assert unavailable["profile"]["first_name"] == name
    assert unavailable["wishlist"] == live["wishlist"]

    # A shopper the hub has never fetched: the card says the profile is unavailable.
    floor.visit("c0002")
    first_time = floor.next("card_updated", "c0002")
    assert first_time["profile_status"] == "unavailable"
    assert first_time["profile"] is None
    assert breaker_state(floor) == "open"

    # The store comes back: after the breaker's cool-down the next fetch refreshes the card.
    floor.start_store()
    floor.leave("c0001")
    time.sleep(1.2)
    floor.visit("c0001")
    fresh = floor.next("card_updated", "c0001")
    while "profile_cached_at" in fresh:
        fresh = floor.next("card_updated", "c0001")
    assert fresh["profile_status"] == "ok"
    assert fresh["profile"]["first_name"] == name
    assert breaker_state(floor) == "closed"
