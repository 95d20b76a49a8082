"""The live IT view's /it namespace: a real hub served over HTTP, real python-socketio clients."""

from __future__ import annotations

import itertools
import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import socketio

from beacon_agent.protocol import SightingsReport, load_status
from store_hub.adapters.db.models import Associate
from store_hub.hub import Hub
from tests.fixtures.tablet_floor import TIMEOUT
from tests.fixtures.tablet_session import TEST_PASSWORD, add_test_associate

pytestmark = pytest.mark.integration


class ItView:
    """One associate signed in through the form, with a socket on /it queueing what it gets."""

    def __init__(self, hub: Hub, base: str, name: str, role: str = "it") -> None:
        email = f"{name.lower()}@store.example"
        self.associate = add_test_associate(hub, email=email, name=name, role=role)
        signed_in = requests.post(
            f"{base}/tablet/session",
            data={"email": email, "password": TEST_PASSWORD},
            allow_redirects=False,
            timeout=5,
        )
        assert signed_in.status_code == 303
        self.cookie = {"Cookie": f"session={signed_in.cookies['session']}"}
        self.base = base
        self.snapshots: queue.Queue[dict[str, Any]] = queue.Queue()
        self.changes: queue.Queue[dict[str, Any]] = queue.Queue()
        self.refusal: queue.Queue[Any] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("connect_error", self.refusal.put, namespace="/it")
        self.client.on("agents", self.snapshots.put, namespace="/it")
        self.client.on("agents_changed", self.changes.put, namespace="/it")

    def connect(self) -> ItView:
        """Open the socket over WebSocket."""
        self.client.connect(
            self.base,
            headers=self.cookie,
            namespaces=["/it"],
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )
        return self

    def refused_because(self) -> str:
        """Connect, expecting a refusal, and return the hub's reason."""
        with pytest.raises(socketio.exceptions.ConnectionError):
            self.connect()
        return str(self.refusal.get(timeout=TIMEOUT)["message"])

    def row(self, agent_id: str, until: Any) -> dict[str, Any]:
        """The first pushed row of `agent_id` for which `until(row)` holds."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            body = self.changes.get(timeout=max(0.01, deadline - time.monotonic()))
            for row in body["agents"]:
                if row["agent_id"] == agent_id and until(row):
                    return dict(row)


@pytest.fixture
def it_view(floor_hub: tuple[Hub, str]) -> Iterator[tuple[Hub, ItView]]:
    hub, base = floor_hub
    hub.topology.put_zone("entrance", "Entrance", "entrance", None, None, hub.clock.now())
    view = ItView(hub, base, "Ines").connect()
    try:
        yield hub, view
    finally:
        view.client.disconnect()


def online(**telemetry: Any) -> dict[str, Any]:
    """An agent's retained status as the ingest hands it on."""
    return load_status({"v": 1, "state": "online", "version": "0.3.0", **telemetry})


def test_connect_sends_agents_and_zones_then_pushes_quarantine_status_and_approval(
    it_view: tuple[Hub, ItView],
) -> None:
    hub, view = it_view
    snapshot = view.snapshots.get(timeout=TIMEOUT)
    assert snapshot["store_id"] == hub.config.store_id
    assert snapshot["agents"] == []
    assert snapshot["zones"] == [{"zone_id": "entrance", "name": "Entrance", "kind": "entrance"}]
    assert snapshot["server_time"].endswith("Z")

    # The ingest hears an agent nobody registered: the view gets it as waiting for approval.
    hub.presence.handle_status("shelf-2", online(advertisements_per_s=12.5), datetime.now(UTC))
    row = view.row("shelf-2", lambda r: r["state"] == "online")
    assert row["approval"] == "quarantined"
    assert row["telemetry"]["advertisements_per_s"] == 12.5
    assert row["last_seen_at"].endswith("Z")

    hub.topology.approve_agent("shelf-2", "entrance", datetime.now(UTC))
    row = view.row("shelf-2", lambda r: r["approval"] == "approved")
    assert (row["zone_id"], row["zone_name"]) == ("entrance", "Entrance")

    # Reports are counted on the ingest's tick; the last will says the agent went away.
    now = datetime.now(UTC)
    hub.presence.handle_report(SightingsReport("s042", "shelf-2", "b1", 0, now, ()), now)
    hub.presence.tick(now)
    row = view.row("shelf-2", lambda r: r["last_report_at"] is not None)
    assert row["report_count"] == 1
    hub.presence.handle_status("shelf-2", load_status({"v": 1, "state": "offline"}), now)
    row = view.row("shelf-2", lambda r: r["state"] == "offline")
    assert row["telemetry"]["version"] == "0.3.0"

    # A new zone redraws every view from a fresh snapshot.
    hub.topology.put_zone("till", "Tills", "till", None, None, now)
    fresh = view.snapshots.get(timeout=TIMEOUT)
    assert [zone["zone_id"] for zone in fresh["zones"]] == ["entrance", "till"]
    assert [agent["agent_id"] for agent in fresh["agents"]] == ["shelf-2"]
    view.client.emit("resync", namespace="/it")
    assert view.snapshots.get(timeout=TIMEOUT)["agents"][0]["state"] == "offline"


def test_a_busy_store_sends_each_agent_at_most_every_two_seconds_and_the_latest_state(
    it_view: tuple[Hub, ItView],
) -> None:
    hub, view = it_view
    view.snapshots.get(timeout=TIMEOUT)
    agents = [f"shelf-{n:02d}" for n in range(20)]
    started = time.monotonic()
    rounds = 0
    # Twenty agents each sending a new status as fast as the hub takes them, for 3 seconds.
    while time.monotonic() - started < 3.0:
        for agent_id in agents:
            hub.presence.handle_status(agent_id, online(spool_depth=rounds), datetime.now(UTC))
        rounds += 1
    assert rounds >= 3, "the burst was too short to show any throttling"
    last = rounds - 1
    seen: dict[str, list[tuple[datetime, int]]] = {agent_id: [] for agent_id in agents}
    while any(not rows or rows[-1][1] != last for rows in seen.values()):
        body = view.changes.get(timeout=TIMEOUT)
        sent_at = datetime.fromisoformat(body["server_time"])
        for row in body["agents"]:
            seen[row["agent_id"]].append((sent_at, row["telemetry"]["spool_depth"]))
    for agent_id, rows in seen.items():
        gaps = [(b - a).total_seconds() for (a, _), (b, _) in itertools.pairwise(rows)]
        # 2 s between sends, less the time the hub took to read the earlier rows: a flood
        # would be one send per status, a few milliseconds apart.
        assert all(gap >= 1.5 for gap in gaps), (agent_id, gaps)
        assert len(rows) <= 4, (agent_id, rows)
    assert sum(len(rows) for rows in seen.values()) < 20 * rounds


def test_only_signed_in_it_or_managers_of_this_store_are_admitted(
    floor_hub: tuple[Hub, str],
) -> None:
    hub, base = floor_hub
    anonymous = ItView(hub, base, "Nobody")
    anonymous.cookie = {}
    assert anonymous.refused_because() == "not signed in: sign in on the tablet first"
    associate = ItView(hub, base, "Ann", role="associate")
    assert associate.refused_because() == "the store devices view is for IT and managers"
    manager = ItView(hub, base, "Maya", role="manager").connect()
    assert manager.snapshots.get(timeout=TIMEOUT)["store_id"] == hub.config.store_id
    manager.client.disconnect()
    gone = ItView(hub, base, "Gus")
    with hub.db.transaction() as session:
        row = session.get(Associate, gone.associate.associate_id)
        assert row is not None
        row.active = False
    assert gone.refused_because() == "this account is no longer active: sign in again"
