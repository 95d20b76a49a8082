"""Claiming shoppers from two signed-in tablets against a real hub (HTTP + Socket.IO)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from store_hub.adapters.db.models import Visit
from store_hub.hub import Hub
from tests.fixtures.tablet_floor import TIMEOUT, Tablet

pytestmark = pytest.mark.integration


def test_claim_is_seen_by_colleagues_and_conflicts_name_the_helper(
    floor_hub: tuple[Hub, str],
) -> None:
    hub, base = floor_hub
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


def test_two_taps_at_once_make_exactly_one_helper(floor_hub: tuple[Hub, str]) -> None:
    hub, base = floor_hub
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
