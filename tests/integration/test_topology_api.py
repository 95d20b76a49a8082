"""The store topology API over real HTTP, with a real hub on SQLite and a real mosquitto."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
import socketio

from beacon_agent.config import parse_remote
from beacon_agent.mqtt_session import BrokerAddress, persistent_client
from beacon_agent.protocol import (
    CONFIG,
    SIGHTINGS,
    STATUS,
    Sighting,
    SightingsReport,
    agent_topic,
    dump_report,
)
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.hub import Hub, build_hub
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.server import HubServer
from tests.fixtures.mosquitto import Broker, free_port
from tests.fixtures.tablet_session import sign_in_over_http

pytestmark = pytest.mark.integration
STORE = "s042"
IT = {"Authorization": "Bearer test-it-key"}
KEY = bytes(range(16))


def wait_until(condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


class Store:
    """A running hub with its HTTP base, and an MQTT client playing the store's agents."""

    def __init__(self, hub: Hub, base: str, broker: Broker) -> None:
        self.hub = hub
        self.base = base
        self.api = f"{base}/api/v1/stores/{STORE}"
        self.agent = persistent_client(f"agents-{free_port()}")
        address = BrokerAddress.parse(broker.url)
        self.agent.connect(address.host, address.port)
        self.agent.loop_start()
        self.seq: dict[str, int] = {}

    def put(self, path: str, body: Any, headers: dict[str, str] = IT) -> requests.Response:
        return requests.put(f"{self.api}{path}", json=body, headers=headers, timeout=5)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.api}{path}", headers=IT, timeout=5)

    def health(self, agent_id: str) -> dict[str, Any]:
        response = self.get(f"/agents/{agent_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def publish(self, agent_id: str, kind: str, payload: dict[str, Any]) -> None:
        topic = agent_topic("", STORE, agent_id, kind)
        self.agent.publish(topic, json.dumps(payload), qos=1).wait_for_publish(5)

    def sighting(self, agent_id: str, boot: str = "b1", seq: int | None = None) -> None:
        if seq is None:
            seq = self.seq.get(agent_id, -1) + 1
        self.seq[agent_id] = seq
        now = datetime.now(UTC)
        token = eid_token(compute_eid(KEY, 10, int(now.timestamp())))
        report = SightingsReport(
            STORE, agent_id, boot, seq, now, (Sighting(token, -58.0, 4, now, now),)
        )
        self.publish(agent_id, SIGHTINGS, dump_report(report))

    def close(self) -> None:
        # Disconnect first: otherwise loop_stop waits out paho's one-second select.
        self.agent.disconnect()
        self.agent.loop_stop()


@pytest.fixture
def store(mosquitto: Broker, tmp_path: Path) -> Iterator[Store]:
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        broker_url=mosquitto.url,
        it_api_key="test-it-key",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        away_timeout_s=5,
        reentry_window_s=60,
        # Nothing listens here: the card shows the profile as unavailable, quickly.
        commerce_url=f"http://127.0.0.1:{free_port()}",
        commerce_timeout_s=0.5,
    )
    hub = build_hub(config)
    with hub.db.transaction() as session:
        enroll_device(session, "c0001", Consents(True, False, True), 10, datetime.now(UTC), KEY)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    hub.start()
    assert hub.ingest.connected.wait(5)
    rig = Store(hub, server.url, mosquitto)
    try:
        yield rig
    finally:
        rig.close()
        server.stop()
        hub.stop()


def entrance(store: Store) -> None:
    body = {"name": "Entrance", "kind": "entrance", "x_m": 0, "y_m": 1.5}
    assert store.put("/zones/entrance", body).status_code == 201


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "x"}])
def test_without_the_it_key_it_is_401(store: Store, headers: dict[str, str]) -> None:
    for response in (
        requests.get(f"{store.api}/zones", headers=headers, timeout=5),
        requests.get(f"{store.api}/agents", headers=headers, timeout=5),
        store.put("/zones/entrance", {"name": "E", "kind": "entrance"}, headers=headers),
        requests.post(f"{store.api}/agents/door-1/approve", json={}, headers=headers, timeout=5),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert "'it'" in response.json()["error"]["message"]


def test_zone_crud(store: Store) -> None:
    assert store.get("/zones").json() == []
    assert store.get("/zones/entrance").status_code == 404
    entrance(store)
    changed = store.put("/zones/entrance", {"name": "Main door", "kind": "entrance", "x_m": 2})
    assert changed.status_code == 200
    assert store.put("/zones/fit-1", {"name": "Fitting room 1", "kind": "fitting_room"}).ok
    zones = store.get("/zones").json()
    assert [(z["zone_id"], z["name"], z["kind"], z["x_m"], z["y_m"]) for z in zones] == [
        ("entrance", "Main door", "entrance", 2.0, None),
        ("fit-1", "Fitting room 1", "fitting_room", None, None),
    ]
    assert store.get("/zones/fit-1").json()["name"] == "Fitting room 1"
    assert [z["bounds_m"] for z in zones] == [None, None]
    # The ways in and out, for the tracker to tell a shopper who walked out.
    assert store.hub.topology.entrance_zones() == {"entrance"}
    assert store.put("/zones/entrance", {"name": "Main door", "kind": "other"}).ok
    assert store.hub.topology.entrance_zones() == frozenset()


def test_a_zone_rectangle_is_kept_read_back_and_cleared_by_a_put_without_it(
    store: Store,
) -> None:
    topology = store.hub.topology
    body = {"name": "Fitting room 1", "kind": "fitting_room", "bounds_m": [4, -2.5, 9.75, 3]}
    created = store.put("/zones/fit-1", body)
    assert created.status_code == 201, created.text
    assert created.json()["bounds_m"] == [4.0, -2.5, 9.75, 3.0]
    assert store.get("/zones/fit-1").json()["bounds_m"] == [4.0, -2.5, 9.75, 3.0]
    assert store.put("/zones/till", {"name": "Tills", "kind": "till"}).status_code == 201
    listed = {z["zone_id"]: z["bounds_m"] for z in store.get("/zones").json()}
    assert listed == {"fit-1": [4.0, -2.5, 9.75, 3.0], "till": None}
    assert topology.zone_bounds() == {"fit-1": (4.0, -2.5, 9.75, 3.0)}
    assert topology.store_outline() == ()  # the tills are not drawn: no floor to be outside of
    drawn_till = {"name": "Tills", "kind": "till", "bounds_m": [9.75, -2.5, 15, 3]}
    assert store.put("/zones/till", drawn_till).status_code == 200
    assert sorted(topology.store_outline()) == [(4.0, -2.5, 9.75, 3.0), (9.75, -2.5, 15.0, 3.0)]
    assert store.put("/zones/till", {"name": "Tills", "kind": "till"}).status_code == 200

    # Redrawn: the tracker sees the new rectangle, and the version tells it to rebuild.
    before = topology.version
    redrawn = store.put("/zones/fit-1", {**body, "bounds_m": [4, -2.5, 12, 3]})
    assert redrawn.status_code == 200, redrawn.text
    assert topology.version > before
    assert topology.zone_bounds() == {"fit-1": (4.0, -2.5, 12.0, 3.0)}

    # A PUT is the whole zone, as for x_m/y_m: without bounds_m (or with null) it has none.
    for cleared_body in (
        {"name": "Fitting room 1", "kind": "fitting_room"},
        {**body, "bounds_m": None},
    ):
        store.put("/zones/fit-1", body)
        before = topology.version
        cleared = store.put("/zones/fit-1", cleared_body)
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["bounds_m"] is None
        assert store.get("/zones/fit-1").json()["bounds_m"] is None
        assert topology.version > before
        assert topology.zone_bounds() == {}


@pytest.mark.parametrize(
    ("bounds", "reason"),
    [
        ([0, 0, 1], "must be four numbers [x0, y0, x1, y1]"),
        ([0, 0, 1, 1, 2], "must be four numbers [x0, y0, x1, y1]"),
        ([], "must be four numbers [x0, y0, x1, y1]"),
        ([3, 0, 1, 1], "x0 (3.0) must be less than x1 (1.0)"),
        ([1, 0, 1, 1], "x0 (1.0) must be less than x1 (1.0)"),
        ([0, 5, 1, 5], "y0 (5.0) must be less than y1 (5.0)"),
        ([0, 0, 1, 10_001], "less than or equal to 10000"),
        ([-10_001, 0, 1, 1], "greater than or equal to -10000"),
        ([0, "NaN", 1, 1], "nan or infinity"),
        ([0, 0, "Infinity", 1], "nan or infinity"),
        ([0, 0, "left", 1], "Not a valid number"),
        ("0,0,1,1", "Not a valid list"),
    ],
)
def test_bad_zone_bounds_are_422_with_the_reason(store: Store, bounds: Any, reason: str) -> None:
    entrance(store)
    before = store.hub.topology.version
    body = {"name": "Entrance", "kind": "entrance", "bounds_m": bounds}
    response = store.put("/zones/entrance", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert list(error["details"]["json"]) == ["bounds_m"]
    assert reason in json.dumps(error["details"]["json"]["bounds_m"])
    # Nothing was written: the zone keeps what it had.
    assert store.get("/zones/entrance").json()["bounds_m"] is None
    assert store.hub.topology.version == before


def test_a_bare_nan_in_zone_bounds_is_422(store: Store) -> None:
    # Python's JSON reader takes the non-standard NaN token: the schema must still refuse it.
    response = requests.put(
        f"{store.api}/zones/entrance",
        data='{"name": "Entrance", "kind": "entrance", "bounds_m": [0, NaN, 1, 1]}',
        headers={**IT, "Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 422, response.text
    assert "nan or infinity" in json.dumps(response.json()["error"]["details"]["json"]["bounds_m"])
    assert store.get("/zones/entrance").status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/zones/entrance", {"kind": "entrance"}, "name"),
        ("/zones/entrance", {"name": "E", "kind": "toilet"}, "kind"),
        ("/zones/entrance", {"name": "E", "kind": "till", "x_m": "left"}, "x_m"),
        ("/zones/entrance", {"name": "E", "kind": "till", "colour": "red"}, "colour"),
        ("/zones/bad+id", {"name": "E", "kind": "till"}, "zone_id"),
        ("/agents/door-1", {}, "zone_id"),
        ("/agents/door-1", {"zone_id": "entrance", "calibration_offset_db": 41}, "calibration"),
        ("/agents/door-1", {"zone_id": "entrance", "report_interval_s": 0}, "report_interval"),
        ("/agents/door-1", {"zone_id": "nowhere"}, "zone_id"),
        ("/agents/door-1", {"zone_id": "entrance", "x_m": 10_001, "y_m": 0}, "x_m"),
        ("/agents/door-1", {"zone_id": "entrance", "x_m": 1, "y_m": -10_001}, "y_m"),
        ("/agents/door-1", {"zone_id": "entrance", "x_m": "NaN", "y_m": 1}, "x_m"),
        ("/agents/door-1", {"zone_id": "entrance", "x_m": "left", "y_m": 1}, "x_m"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    store: Store, path: str, body: dict[str, Any], where: str
) -> None:
    entrance(store)
    response = store.put(path, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert where in json.dumps(error["details"])


def test_another_store_is_404(store: Store) -> None:
    other = f"{store.base}/api/v1/stores/s999"
    assert requests.get(f"{other}/zones", headers=IT, timeout=5).status_code == 404
    response = requests.put(
        f"{other}/agents/door-1", json={"zone_id": "entrance"}, headers=IT, timeout=5
    )
    assert response.status_code == 404
    assert "s042" in response.json()["error"]["message"]


def test_registering_an_agent_publishes_its_retained_config(
    store: Store, mosquitto: Broker
) -> None:
    entrance(store)
    body = {"zone_id": "entrance", "calibration_offset_db": -3.5, "report_interval_s": 2.0}
    response = store.put("/agents/door-1", body)
    assert response.status_code == 201, response.text
    agent = response.json()
    assert (agent["approval"], agent["zone_name"], agent["state"]) == (
        "approved",
        "Entrance",
        "unknown",
    )

    # A subscriber that connects afterwards gets it: the message is retained.
    received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    listener = persistent_client(f"door-1-listener-{free_port()}")
    listener.on_message = lambda _c, _u, message: received.put(message)
    address = BrokerAddress.parse(mosquitto.url)
    listener.connect(address.host, address.port)
    listener.subscribe(agent_topic("", STORE, "door-1", CONFIG), qos=1)
    listener.loop_start()
    try:
        message = received.get(timeout=5)
        assert message.retain
        payload = json.loads(message.payload)
        assert payload == {
            "v": 1,
            "zone": "entrance",
            "calibration_offset_db": -3.5,
            "report_interval_s": 2.0,
            "send_levels": False,
        }
        # What the agent applies (a newer agent may also take send_levels).
        remote = parse_remote(payload)
        assert (remote["zone"], remote["calibration_offset_db"], remote["report_interval_s"]) == (
            "entrance",
            -3.5,
            2.0,
        )
        # A change is published at once to the connected agent.
        assert store.put("/agents/door-1", {"zone_id": "entrance"}).status_code == 200
        changed = json.loads(received.get(timeout=5).payload)
        # IT's interval cleared: the agent is told the default, not left on the last one.
        assert changed == {
            "v": 1,
            "zone": "entrance",
            "calibration_offset_db": 0.0,
            "send_levels": False,
            "report_interval_s": 1.0,
        }
    finally:
        listener.disconnect()
        listener.loop_stop()


def test_unregistered_agent_is_quarantined_then_approved(store: Store) -> None:
    entrance(store)
    store.publish("fit-7", STATUS, {"v": 1, "state": "online", "version": "0.2"})
    store.sighting("fit-7")
    wait_until(lambda: store.hub.presence.counters["quarantined"] == 1)
    wait_until(lambda: store.health("fit-7")["report_count"] == 1)
    waiting = store.get("/agents?approval=quarantined").json()
    assert [a["agent_id"] for a in waiting] == ["fit-7"]
    assert waiting[0]["first_seen_at"] and waiting[0]["last_seen_at"]
    assert waiting[0]["zone_id"] is None
    assert store.hub.presence.counters["arrivals"] == 0
    assert store.get("/agents?approval=approved").json() == []
    assert store.get("/agents?approval=maybe").status_code == 422

    missing = requests.post(
        f"{store.api}/agents/nobody/approve", json={"zone_id": "entrance"}, headers=IT, timeout=5
    )
    assert missing.status_code == 404
    nowhere = requests.post(
        f"{store.api}/agents/fit-7/approve", json={"zone_id": "nowhere"}, headers=IT, timeout=5
    )
    assert nowhere.status_code == 422
    approved = requests.post(
        f"{store.api}/agents/fit-7/approve", json={"zone_id": "entrance"}, headers=IT, timeout=5
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["approval"], approved.json()["zone_id"]) == ("approved", "entrance")

    store.sighting("fit-7")
    wait_until(lambda: store.hub.presence.counters["arrivals"] == 1)
    assert store.get("/agents?approval=quarantined").json() == []


def test_health_view_after_real_status_and_sightings(store: Store) -> None:
    entrance(store)
    assert store.put("/agents/door-1", {"zone_id": "entrance"}).status_code == 201
    store.publish(
        "door-1",
        STATUS,
        {
            "v": 1,
            "state": "online",
            "version": "0.2.0",
            "started_at": "2026-11-24T09:00:00.000Z",
            "advertisements_per_s": 37.5,
            "tokens_present": 2,
            "last_advertisement_age_s": 0.4,
            "scanner_restarts": 1,
            "spool_depth": 0,
            "spool_dropped": 0,
        },
    )
    for seq in (0, 1, 2, 5):  # 3 and 4 were lost
        store.sighting("door-1", seq=seq)
    store.sighting("door-1", seq=5)  # redelivered
    wait_until(lambda: store.health("door-1")["report_count"] == 4)
    wait_until(lambda: store.health("door-1")["duplicates"] == 1)
    agent = store.health("door-1")
    assert agent["state"] == "online"
    assert (agent["boot_id"], agent["gaps"]) == ("b1", 2)
    assert agent["last_report_at"] is not None
    assert agent["clock_offset_s"] == pytest.approx(0, abs=1)
    assert agent["telemetry"] == {
        "version": "0.2.0",
        "started_at": "2026-11-24T09:00:00.000Z",
        "advertisements_per_s": 37.5,
        "tokens_present": 2,
        "last_advertisement_age_s": 0.4,
        "scanner_restarts": 1,
        "spool_depth": 0,
        "spool_dropped": 0,
    }
    # The broker publishes the last will when the agent vanishes.
    store.publish("door-1", STATUS, {"v": 1, "state": "offline"})
    wait_until(lambda: store.health("door-1")["state"] == "offline")
    assert store.health("door-1")["telemetry"]["version"] == "0.2.0"
    # A new boot starts counting afresh.
    store.sighting("door-1", boot="b2", seq=0)
    wait_until(lambda: store.health("door-1")["boot_id"] == "b2")
    assert store.health("door-1")["gaps"] == 0


def test_a_shopper_back_within_the_window_is_the_same_card_on_the_tablet(store: Store) -> None:
    entrance(store)
    assert store.put("/agents/door-1", {"zone_id": "entrance"}).ok
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    tablet = socketio.Client()
    for name in ("arrived", "departed"):
        tablet.on(name, lambda data, name=name: events.put((name, data)), namespace="/floor")
    tablet.connect(
        store.base,
        headers=sign_in_over_http(store.base, store.hub),
        namespaces=["/floor"],
        auth={"store_id": STORE},
        transports=["websocket"],
    )
    try:
        store.sighting("door-1")
        name, arrived = events.get(timeout=10)
        assert name == "arrived" and arrived["zone"] == "Entrance"
        # Silence past the 5 s away timeout: the card leaves the tablet.
        name, departed = events.get(timeout=10)
        assert (name, departed["visit_id"]) == ("departed", arrived["visit_id"])
        store.sighting("door-1")
        name, back = events.get(timeout=10)
        assert (name, back["visit_id"], back["zone"]) == (
            "arrived",
            arrived["visit_id"],
            "Entrance",
        )
        assert store.hub.presence.counters["arrivals"] == 1
        assert store.hub.presence.counters["reentries"] == 1
    finally:
        tablet.disconnect()


def test_openapi_documents_the_topology_paths(store: Store) -> None:
    spec = requests.get(f"{store.base}/api/v1/openapi.json", timeout=5).json()
    assert {
        "/api/v1/stores/{store_id}/zones",
        "/api/v1/stores/{store_id}/zones/{zone_id}",
        "/api/v1/stores/{store_id}/agents",
        "/api/v1/stores/{store_id}/agents/{agent_id}",
        "/api/v1/stores/{store_id}/agents/{agent_id}/approve",
    } <= set(spec["paths"])


class ConfigListener:
    """Subscribes to one agent's retained config topic, as the agent itself does."""

    def __init__(self, broker: Broker, agent_id: str) -> None:
        self.received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = persistent_client(f"{agent_id}-listener-{free_port()}")
        self.client.on_message = lambda _c, _u, message: self.received.put(message)
        address = BrokerAddress.parse(broker.url)
        self.client.connect(address.host, address.port)
        self.client.subscribe(agent_topic("", STORE, agent_id, CONFIG), qos=1)
        self.client.loop_start()

    def next(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.received.get(timeout=5).payload)
        return payload

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_an_agent_placed_on_the_floor_is_told_to_send_levels(
    store: Store, mosquitto: Broker
) -> None:
    entrance(store)
    body = {"zone_id": "entrance", "x_m": 12.0, "y_m": 4.5}
    response = store.put("/agents/door-1", body)
    assert response.status_code == 201, response.text
    assert (response.json()["x_m"], response.json()["y_m"]) == (12.0, 4.5)
    assert (store.health("door-1")["x_m"], store.health("door-1")["y_m"]) == (12.0, 4.5)
    [listed] = store.get("/agents").json()
    assert (listed["x_m"], listed["y_m"]) == (12.0, 4.5)
    assert store.hub.topology.floor_positions() == {"door-1": (12.0, 4.5)}

    listener = ConfigListener(mosquitto, "door-1")
    try:
        # Retained: an agent that connects afterwards is told too.
        placed = listener.next()
        assert placed["send_levels"] is True
        assert parse_remote(placed)["zone"] == "entrance"

        moved = store.put("/agents/door-1", {"zone_id": "entrance", "x_m": -3, "y_m": 0})
        assert (moved.json()["x_m"], moved.json()["y_m"]) == (-3.0, 0.0)
        assert listener.next()["send_levels"] is True

        # PUT replaces every setting: without a position the agent must stop sending levels.
        cleared = store.put("/agents/door-1", {"zone_id": "entrance"})
        assert cleared.status_code == 200, cleared.text
        assert (cleared.json()["x_m"], cleared.json()["y_m"]) == (None, None)
        assert listener.next()["send_levels"] is False
        assert store.hub.topology.floor_positions() == {}
    finally:
        listener.close()


@pytest.mark.parametrize(("given", "missing"), [("x_m", "y_m"), ("y_m", "x_m")])
def test_half_a_position_is_422_naming_the_missing_coordinate(
    store: Store, given: str, missing: str
) -> None:
    entrance(store)
    for response in (
        store.put("/agents/door-1", {"zone_id": "entrance", given: 2.0}),
        store.put("/agents/door-1", {"zone_id": "entrance", given: 2.0, missing: None}),
        requests.post(
            f"{store.api}/agents/door-1/approve",
            json={"zone_id": "entrance", given: 2.0},
            headers=IT,
            timeout=5,
        ),
    ):
        assert response.status_code == 422, response.text
        details = response.json()["error"]["details"]
        assert list(details["json"]) == [missing]
        [reason] = details["json"][missing]
        assert f"{missing} is missing" in reason and "both x_m and y_m" in reason
    assert store.get("/agents").json() == []


def test_approving_can_place_a_quarantined_agent(store: Store, mosquitto: Broker) -> None:
    entrance(store)
    store.publish("fit-7", STATUS, {"v": 1, "state": "online", "version": "0.2"})
    wait_until(lambda: store.hub.topology.placement("fit-7") is not None)
    assert store.health("fit-7")["x_m"] is None
    assert store.hub.topology.floor_positions() == {}

    listener = ConfigListener(mosquitto, "fit-7")
    try:
        approved = requests.post(
            f"{store.api}/agents/fit-7/approve",
            json={"zone_id": "entrance", "x_m": 3.25, "y_m": 8},
            headers=IT,
            timeout=5,
        )
        assert approved.status_code == 200, approved.text
        assert (approved.json()["x_m"], approved.json()["y_m"]) == (3.25, 8.0)
        assert listener.next()["send_levels"] is True
        assert store.hub.topology.floor_positions() == {"fit-7": (3.25, 8.0)}

        # Approving again without a position (a zone move) keeps the one IT measured.
        again = requests.post(
            f"{store.api}/agents/fit-7/approve", json={"zone_id": "entrance"}, headers=IT, timeout=5
        )
        assert (again.json()["x_m"], again.json()["y_m"]) == (3.25, 8.0)
        assert listener.next()["send_levels"] is True
    finally:
        listener.close()


def test_openapi_documents_the_agent_position(store: Store) -> None:
    schemas = requests.get(f"{store.base}/api/v1/openapi.json", timeout=5).json()["components"][
        "schemas"
    ]
    for name in ("AgentBody", "ApproveBody", "AgentHealth"):
        assert {"x_m", "y_m"} <= set(schemas[name]["properties"]), name


def test_openapi_documents_the_zone_bounds(store: Store) -> None:
    schemas = requests.get(f"{store.base}/api/v1/openapi.json", timeout=5).json()["components"][
        "schemas"
    ]
    for name in ("ZoneBody", "Zone"):
        bounds = schemas[name]["properties"]["bounds_m"]
        assert (bounds["type"], bounds["items"]["type"], bounds["nullable"]) == (
            "array",
            "number",
            True,
        ), name
    assert "x0 < x1" in schemas["ZoneBody"]["properties"]["bounds_m"]["description"]
