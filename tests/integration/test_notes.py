"""Notes on a customer and the audit log of card views, from two signed-in tablets on a real hub."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store_hub.adapters.db.models import CardView, CustomerNote, Visit
from store_hub.hub import Hub
from tests.fixtures.tablet_floor import TIMEOUT, Tablet

pytestmark = pytest.mark.integration


def test_a_note_reaches_colleagues_with_its_author(floor_hub: tuple[Hub, str]) -> None:
    hub, base = floor_hub
    priya, tom = Tablet(hub, base, "Priya"), Tablet(hub, base, "Tom")
    try:
        added = priya.ask("add_note", {"visit_id": "v-1", "text": "  Prefers the navy, size M "})
        assert added["ok"] is True
        assert added["note"]["author"] == "Priya"
        assert added["note"]["text"] == "Prefers the navy, size M"
        seen = tom.updates.get(timeout=TIMEOUT)
        assert [(n["author"], n["text"]) for n in seen["notes"]] == [
            ("Priya", "Prefers the navy, size M")
        ]

        assert tom.ask("add_note", {"visit_id": "v-1", "text": "Asked about the sale"})["ok"]
        priya.updates.get(timeout=TIMEOUT)  # her own note's update
        newest_first = priya.updates.get(timeout=TIMEOUT)
        assert [n["author"] for n in newest_first["notes"]] == ["Tom", "Priya"]
        with hub.db.transaction() as session:
            visit = session.get(Visit, "v-1")
            assert visit is not None and visit.card is not None
            # Stored with the visit: a resync shows the notes too.
            assert len(visit.card["notes"]) == 2
    finally:
        priya.client.disconnect()
        tom.client.disconnect()


def test_bad_notes_are_refused_with_a_reason(floor_hub: tuple[Hub, str]) -> None:
    hub, base = floor_hub
    priya = Tablet(hub, base, "Priya")
    try:
        cases = {
            "note_empty": {"visit_id": "v-1", "text": "   "},
            "note_too_long": {"visit_id": "v-1", "text": "x" * 1001},
            "invalid_request": {"visit_id": "v-1", "text": 42},
        }
        for code, body in cases.items():
            answer = priya.ask("add_note", body)
            assert answer["ok"] is False and answer["error"]["code"] == code
            assert answer["error"]["message"]
        assert priya.ask("add_note", {"text": "hi"})["error"]["code"] == "invalid_request"
        gone = priya.ask("add_note", {"visit_id": "v-404", "text": "hi"})
        assert gone["error"]["code"] == "not_on_floor"
        assert priya.ask("add_note", {"visit_id": "v-1", "text": "x" * 1000})["ok"] is True
        with hub.db.transaction() as session:
            assert len(session.scalars(select(CustomerNote)).all()) == 1
    finally:
        priya.client.disconnect()


def test_viewing_a_card_is_recorded_for_the_audit_log(floor_hub: tuple[Hub, str]) -> None:
    hub, base = floor_hub
    priya = Tablet(hub, base, "Priya")
    try:
        assert priya.ask("view_card", {"visit_id": "v-1"}) == {"ok": True}
        assert priya.ask("view_card", {"visit_id": "v-404"})["error"]["code"] == "not_on_floor"
        assert priya.ask("view_card", {})["error"]["code"] == "invalid_request"
        with hub.db.transaction() as session:
            view = session.scalars(select(CardView)).one()
            assert (view.customer_id, view.visit_id, view.store_id) == (
                "c-1",
                "v-1",
                hub.config.store_id,
            )
            assert view.associate_id == priya.associate.associate_id
    finally:
        priya.client.disconnect()
