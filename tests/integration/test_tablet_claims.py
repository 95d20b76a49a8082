"""Claiming shoppers from two signed-in tablets against a real hub (HTTP + Socket.IO)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from store_hub.adapters.db.models import Device, Visit
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.hub import Hub, build_hub
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.tablet_session import TEST_PASSWORD, add_test_associate

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TIMEOUT = 5.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    """A hub (not ingesting) with one shopper on the floor, served over HTTP."""
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db", vapid_key_path=str(tmp_path / "vapid.pem")
    )
    hub = build_hub(config)
    with hub.db.transaction() as session:
        session.add(
            Device(
                id="d-1",
                customer_id="c-1",
                identity_key=b"k" * 16,
                rotation_exponent=10,
                consent_presence=True,
                consent_offers=True,
                consent_associate_view=True,
                created_at=NOW,
                revoked_at=None,
            )
        )
        session.flush()
        session.add(
            Visit(
                id="v-1",
                store_id=config.store_id,
                device_id="d-1",
                customer_id="c-1",
                arrived_at=NOW,
                last_seen=NOW,
                departed_at=None,
                zone=None,
                card={"visit_id": "v-1", "customer_id": "c-1", "profile": None},
            )
        )
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        yield hub, server.url
    finally:
        server.stop()
        hub.stop()


class Tablet:
    """One associate signed in through the form, with a socket on /floor."""

    def __init__(self, hub: Hub, base: str, name: str, role: str = "associate") -> None:
        email = f"{name.lower()}@store.example"
        self.associate = add_test_associate(hub, email=email, name=name, role=role)
        signed_in = requests.post(
            f"{base}/tablet/session",
            data={"email": email, "password": TEST_PASSWORD},
            allow_redirects=False,
            timeout=5,
        )
        assert signed_in.status_code == 303
        self.updates: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("card_updated", self.updates.put, namespace="/floor")
        self.client.connect(
            base,
            headers={"Cookie": f"session={signed_in.cookies['session']}"},
            namespaces=["/floor"],
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )

    def ask(self, event: str, body: dict[str, Any]) -> dict[str, Any]:
        """Emit an action and return its acknowledgement."""
        answer: dict[str, Any] = self.client.call(event, body, namespace="/floor", timeout=5)
        return answer

    def helped_by(self) -> Any:
        """`helped_by` of the next card_updated this tablet receives."""
        return self.updates.get(timeout=TIMEOUT)["helped_by"]


def test_claim_is_seen_by_colleagues_and_conflicts_name_the_helper(
    served: tuple[Hub, str],
) -> None:
    hub, base = served
    priya, tom = Tablet(hub, base, "Priya"), Tablet(hub, base, "Tom")
    try:
        claimed = priya.ask("claim", {"visit_id": "v-1"})
        refused = tom.ask("claim", {"visit_id": "v-1"})

        helper = {"associate_id": priya.associate.associate_id, "name": "Priya"}
        assert claimed["ok"] is True and claimed["card"]["helped_by"] == helper
        assert tom.helped_by() == helper
        assert refused == {
            "ok": False,
            "error": {"code": "already_claimed", "message": "Priya is already helping them"},
        }
        assert tom.ask("release", {"visit_id": "v-1"})["error"]["code"] == "already_claimed"

        colleagues = priya.ask("colleagues", {})["colleagues"]
        assert colleagues == [{"associate_id": tom.associate.associate_id, "name": "Tom"}]
        handed = priya.ask(
            "hand_over", {"visit_id": "v-1", "to_associate_id": tom.associate.associate_id}
        )
        assert handed["ok"] is True
        assert priya.helped_by() == helper  # the claim's own update
        assert priya.helped_by() == {"associate_id": tom.associate.associate_id, "name": "Tom"}

        assert tom.ask("release", {"visit_id": "v-1"})["ok"] is True
        with hub.db.transaction() as session:
            visit = session.get(Visit, "v-1")
            assert visit is not None and visit.card is not None
            # Stored with the visit: a tablet's resync shows the same.
            assert visit.card["helped_by"] is None
        assert priya.ask("claim", {"visit_id": "v-404"})["error"]["code"] == "not_on_floor"
        assert priya.ask("claim", {})["error"]["code"] == "invalid_request"
    finally:
        priya.client.disconnect()
        tom.client.disconnect()


def test_two_taps_at_once_make_exactly_one_helper(served: tuple[Hub, str]) -> None:
    hub, base = served
    tablets = [Tablet(hub, base, name) for name in ("Ana", "Ben", "Cy", "Di")]
    answers: list[dict[str, Any]] = []
    start = threading.Barrier(len(tablets))

    def tap(tablet: Tablet) -> None:
        start.wait()
        answers.append(tablet.ask("claim", {"visit_id": "v-1"}))

    threads = [threading.Thread(target=tap, args=(tablet,)) for tablet in tablets]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        assert sorted(answer["ok"] for answer in answers) == [False, False, False, True]
        refusals = {answer["error"]["code"] for answer in answers if not answer["ok"]}
        assert refusals == {"already_claimed"}
    finally:
        for tablet in tablets:
            tablet.client.disconnect()
