"""The /floor Socket.IO namespace over a real server and a real python-socketio client."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio as socketio_client
from flask import Flask
from flask_socketio import SocketIO

from clienteling_ui import bp as clienteling_bp
from store_hub.adapters.realtime import (
    FloorBroadcaster,
    register_floor_namespace,
    socket_session,
)
from tests.fixtures.browser import LiveServer
from tests.fixtures.tablet_session import TEST_SECRET, associate_of, cookie_header

pytestmark = pytest.mark.integration

TIMEOUT = 5.0
STORES = {"s042", "s043"}


def card(visit_id: str, customer_id: str = "c-100", **overrides: Any) -> dict[str, Any]:
    """A minimal card, pending its online profile."""
    return {
        "visit_id": visit_id,
        "customer_id": customer_id,
        "device_id": f"d-{customer_id}",
        "arrived_at": "2026-11-24T10:00:00.000Z",
        "last_seen": "2026-11-24T10:00:05.000Z",
        "zone": "entrance",
        "profile_status": "pending",
        "profile": None,
        "wishlist": [],
        "cart": None,
        "orders": [],
        "offer": None,
        **overrides,
    }


class Hub:
    """A Flask app with the tablet blueprint and the floor namespace, plus its state."""

    def __init__(self) -> None:
        self.floors: dict[str, list[dict[str, Any]]] = {store: [] for store in STORES}
        self.failing = False
        self.app = Flask(__name__)
        self.app.config["STORE_ID"] = "s042"
        self.app.secret_key = TEST_SECRET
        self.app.register_blueprint(clienteling_bp, url_prefix="/tablet")
        # A fresh SocketIO per app: the module-level one keeps only the last app's server.
        self.socketio = SocketIO()
        self.socketio.init_app(self.app, async_mode="threading")
        register_floor_namespace(self.socketio, self.snapshot, STORES.__contains__)
        self.broadcaster = FloorBroadcaster(self.socketio)

    def snapshot(self, store_id: str) -> list[dict[str, Any]]:
        """The store's floor, or an error while `failing` is set."""
        if self.failing:
            raise RuntimeError("presence store unavailable")
        return list(self.floors[store_id])


@pytest.fixture(scope="module")
def hub() -> Iterator[tuple[Hub, LiveServer]]:
    """One hub served for the whole module; tests reset its floors."""
    state = Hub()
    with LiveServer(state.app) as server:
        yield state, server


class Tablet:
    """A python-socketio client on /floor that queues every event it receives."""

    def __init__(self) -> None:
        self.client = socketio_client.Client(reconnection=False)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.refusal: queue.Queue[Any] = queue.Queue()
        for name in ("floor", "arrived", "card_updated", "departed"):
            self.client.on(name, self._recorder(name), namespace="/floor")
        self.client.on("connect_error", self.refusal.put, namespace="/floor")

    def _recorder(self, name: str) -> Callable[[Any], None]:
        return lambda payload: self.events.put((name, payload))

    def connect(
        self, url: str, auth: dict[str, Any] | None, headers: dict[str, str] | None = None
    ) -> None:
        """Connect over WebSocket only, so the test exercises the real upgrade path."""
        self.client.connect(
            url,
            headers=headers or {},
            namespaces=["/floor"],
            auth=auth,
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )

    def next_event(self) -> tuple[str, Any]:
        """The next event, or fail after TIMEOUT."""
        try:
            return self.events.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no event within {TIMEOUT} s")


@pytest.fixture
def tablets(hub: tuple[Hub, LiveServer]) -> Iterator[Callable[..., Tablet]]:
    """Open connected tablets for a test and disconnect them afterwards."""
    state, server = hub
    state.failing = False
    for floor in state.floors.values():
        floor.clear()
    opened: list[Tablet] = []

    def open_tablet(store_id: str | None = "s042", connect: bool = True) -> Tablet:
        tablet = Tablet()
        opened.append(tablet)
        if connect:
            signed_in = cookie_header(state.app, associate_of(store_id or "s042"))
            tablet.connect(
                server.url, None if store_id is None else {"store_id": store_id}, signed_in
            )
        return tablet

    yield open_tablet
    for tablet in opened:
        if tablet.client.connected:
            tablet.client.disconnect()


def test_connect_sends_the_floor_snapshot(
    hub: tuple[Hub, LiveServer], tablets: Callable[..., Tablet]
) -> None:
    state, _ = hub
    state.floors["s042"].append(card("v1"))

    name, floor = tablets("s042").next_event()

    assert name == "floor"
    assert floor["store_id"] == "s042"
    assert floor["shoppers"] == [card("v1")]
    assert floor["server_time"].endswith("Z")


def test_resync_sends_the_floor_again(
    hub: tuple[Hub, LiveServer], tablets: Callable[..., Tablet]
) -> None:
    state, _ = hub
    tablet = tablets("s042")
    assert tablet.next_event()[1]["shoppers"] == []
    state.floors["s042"].append(card("v2"))

    tablet.client.emit("resync", namespace="/floor")

    name, floor = tablet.next_event()
    assert name == "floor"
    assert [shopper["visit_id"] for shopper in floor["shoppers"]] == ["v2"]


def test_broadcasts_from_another_thread_reach_only_that_store(
    hub: tuple[Hub, LiveServer], tablets: Callable[..., Tablet]
) -> None:
    state, _ = hub
    here, elsewhere = tablets("s042"), tablets("s043")
    assert here.next_event()[0] == "floor"
    assert elsewhere.next_event()[0] == "floor"
    departure = {"visit_id": "v3", "customer_id": "c-7", "departed_at": "2026-11-24T10:20:00Z"}

    def hub_worker() -> None:
        state.broadcaster.arrived("s042", card("v3", "c-7"))
        state.broadcaster.card_updated("s042", card("v3", "c-7", profile_status="unavailable"))
        state.broadcaster.departed("s042", {**departure, "internal": "not for tablets"})
        state.broadcaster.departed("s043", {**departure, "visit_id": "v-other"})

    worker = threading.Thread(target=hub_worker)
    worker.start()
    worker.join(TIMEOUT)

    assert here.next_event() == ("arrived", card("v3", "c-7"))
    assert here.next_event() == ("card_updated", card("v3", "c-7", profile_status="unavailable"))
    assert here.next_event() == ("departed", departure)
    # The other store's first event after its floor is its own departure: nothing leaked before.
    assert elsewhere.next_event() == ("departed", {**departure, "visit_id": "v-other"})


def test_a_failing_snapshot_keeps_the_tablet_connected_until_resync(
    hub: tuple[Hub, LiveServer], tablets: Callable[..., Tablet], caplog: pytest.LogCaptureFixture
) -> None:
    state, _ = hub
    state.failing = True

    tablet = tablets("s042")

    assert tablet.client.connected
    with pytest.raises(queue.Empty):
        tablet.events.get(timeout=0.3)
    assert "floor snapshot failed for store s042" in caplog.text
    state.failing = False
    tablet.client.emit("resync", namespace="/floor")
    assert tablet.next_event()[0] == "floor"


@pytest.mark.parametrize(
    ("signed_in_for", "auth", "reason"),
    [
        ("s999", {"store_id": "s999"}, "unknown store: s999"),
        ("s999", None, "unknown store: s999"),
        ("s042", {"store_id": "s043"}, "signed in for store s042, not s043"),
        (None, {"store_id": "s042"}, "not signed in: sign in on the tablet first"),
        ("forged", {"store_id": "s042"}, "not signed in: sign in on the tablet first"),
    ],
)
def test_a_tablet_must_be_signed_in_for_a_known_store(
    hub: tuple[Hub, LiveServer],
    tablets: Callable[..., Tablet],
    signed_in_for: str | None,
    auth: dict[str, Any] | None,
    reason: str,
) -> None:
    state, server = hub
    tablet = tablets(connect=False)
    headers = None
    if signed_in_for == "forged":
        # A cookie signed with another key: the hub must not believe what it says.
        other = Flask("forger")
        other.secret_key = b"not-the-hub-secret-0123456789abc"
        headers = cookie_header(other, associate_of("s042"))
    elif signed_in_for is not None:
        headers = cookie_header(state.app, associate_of(signed_in_for))

    with pytest.raises(socketio_client.exceptions.ConnectionError):
        tablet.connect(server.url, auth, headers)

    assert tablet.refusal.get(timeout=TIMEOUT) == {"message": reason}
    assert tablet.events.empty()


def test_departed_without_a_contract_field_fails_at_the_sender() -> None:
    broadcaster = FloorBroadcaster(SocketIO())

    with pytest.raises(KeyError, match="departed_at"):
        broadcaster.departed("s042", {"visit_id": "v1", "customer_id": "c-1"})


def test_the_tablet_page_is_served_next_to_the_socket(hub: tuple[Hub, LiveServer]) -> None:
    state, _ = hub

    client = state.app.test_client()
    client.set_cookie("session", cookie_header(state.app, associate_of("s043"))["Cookie"][8:])
    response = client.get("/tablet/?store=s043")
    anonymous = state.app.test_client().get("/tablet/?store=s043", headers={"Accept": "text/html"})

    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/tablet/sign-in?next=/tablet/")
    assert response.status_code == 200
    assert 'data-store-id="s043"' in response.get_data(as_text=True)
    assert state.socketio.async_mode == "threading"


def test_an_event_from_a_socket_that_has_gone_reads_as_not_signed_in() -> None:
    # A tablet leaving the page while it records a card view: the event is handled after the
    # socket closed, and must not raise in the server's thread.
    server = SocketIO(Flask(__name__), async_mode="threading")
    assert socket_session(server, "gone-sid", "/floor") == {}
