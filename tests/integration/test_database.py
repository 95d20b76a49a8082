"""Migrations match the models and round-trip aware timestamps, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.orm import Session

from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Base, Device, Visit
from store_hub.operations.agent_health import AgentLedger, health_view
from store_hub.operations.enrollment import Consents, enroll_device, revoke_device
from store_hub.operations.topology import Topology

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 10, 0, 1, 250000, tzinfo=UTC)


def enrolled_visit(
    session: Session,
    visit_id: str,
    customer_id: str,
    departed_at: datetime | None = None,
    **extra: Any,
) -> Visit:
    """A visit in store s1 since NOW of a newly enrolled device of `customer_id`."""
    device_id = enroll_device(session, customer_id, Consents(True, True, True), 10, NOW).id
    visit = Visit(
        id=visit_id,
        store_id="s1",
        device_id=device_id,
        customer_id=customer_id,
        arrived_at=NOW,
        last_seen=NOW,
        departed_at=departed_at,
        zone="entrance",
        **extra,
    )
    session.add(visit)
    session.flush()
    return visit


def test_migrations_produce_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_timestamps_come_back_aware_utc(db: Database) -> None:
    with db.transaction() as session:
        device = enroll_device(session, "c0001", Consents(True, True, True), 10, NOW)
        device_id = device.id
    with db.transaction() as session:
        loaded = session.get(Device, device_id)
        assert loaded is not None
        assert loaded.created_at == NOW
        assert loaded.created_at.tzinfo is not None
        assert len(loaded.identity_key) == 16


def test_revoking_removes_the_push_subscription_and_cascades(db: Database) -> None:
    from store_hub.operations.enrollment import set_web_push

    with db.transaction() as session:
        device_id = enrolled_visit(session, "v1", "c0002").device_id
        set_web_push(session, device_id, "https://push.example/x", "p" * 87, "a" * 22, NOW)
    with db.transaction() as session:
        enrolled = revoke_device(session, device_id, NOW)
        assert enrolled.presence_consent is False
    with db.transaction() as session:
        count = session.execute(text("SELECT count(*) FROM push_subscriptions")).scalar_one()
        assert count == 0


class Unpublished:
    def publish(self, store_id: str, agent_id: str, payload: dict[str, object]) -> None:
        """Nothing: this test is about the database."""


def test_topology_agent_numbers_and_segments_round_trip(db: Database) -> None:
    topology = Topology(db, "s1", Unpublished())
    topology.put_zone("entrance", "Entrance", "entrance", 1.5, None, NOW)
    topology.register_agent("door-1", "entrance", -2.0, 1.0, NOW)
    ledger = AgentLedger(db, topology)
    later = NOW + timedelta(seconds=5)
    for seq in (0, 3):
        ledger.report("door-1", "b1", seq, later)
    ledger.status("door-1", {"state": "online", "version": "1", "telemetry": {}}, later)
    ledger.flush({"door-1": 0.25})
    [agent] = health_view(db, topology, {})
    assert (agent["first_seen_at"], agent["last_report_at"], agent["status_at"]) == (later,) * 3
    assert agent["first_seen_at"].tzinfo is not None
    assert (agent["report_count"], agent["gaps"], agent["clock_offset_s"]) == (2, 2, 0.25)
    assert (agent["zone_name"], agent["registered_at"]) == ("Entrance", NOW)

    # A restarted hub goes on counting from the saved boot state.
    restarted = AgentLedger(db, topology)
    restarted.load()
    assert restarted.gaps("door-1") == 2

    with db.transaction() as session:
        enrolled_visit(session, "v2", "c0003")
        repo.open_segment(session, "v2", "entrance", NOW)
    with db.transaction() as session:
        assert repo.close_segment(session, "v2", later) == 1
        assert repo.close_segment(session, "v2", later) == 0
        segments = repo.visit_segments(session, "v2")
        assert [(s.zone, s.entered_at, s.left_at) for s in segments] == [("entrance", NOW, later)]


def test_zone_segments_follow_the_visit_and_never_run_backwards(db: Database) -> None:
    later = NOW + timedelta(seconds=7)
    with db.transaction() as session:
        enrolled_visit(session, "open", "c0004")
        enrolled_visit(session, "gone", "c0006", departed_at=later)
        repo.open_segment(session, "open", "entrance", NOW, 0.97)
        repo.open_segment(session, "gone", "entrance", NOW)
    with db.transaction() as session:
        # A zone change: the entrance stay ends where the fitting room stay begins.
        repo.close_segment(session, "open", later)
        repo.open_segment(session, "open", "fitting-1", later, 0.82)
        repo.set_visit_zone(session, "open", "fitting-1")
    with db.transaction() as session:
        # Only open visits' open segments come back to a restarting hub.
        restored = repo.open_segments(session, "s1")
        assert {v: (s.zone, s.entered_at) for v, s in restored.items()} == {
            "open": ("fitting-1", later)
        }
        # The shopper was last heard before the hub settled the fitting room: a zero-length stay.
        repo.close_segment(session, "open", NOW)
        visit = session.get(Visit, "open")
        assert visit is not None and visit.zone == "fitting-1"
        segments = repo.visit_segments(session, "open")
        assert [(s.zone, s.entered_at, s.left_at, s.confidence) for s in segments] == [
            ("entrance", NOW, later, 0.97),
            ("fitting-1", later, later, 0.82),
        ]


def test_a_card_read_for_update_is_not_overwritten_by_a_concurrent_change(db: Database) -> None:
    # Two tablets act on one card at once (a note and a claim): each reads the card for update
    # and writes it back with its own field. Neither change may be lost, on SQLite too, where
    # FOR UPDATE means nothing and Python's sqlite3 used to read outside any transaction.
    with db.transaction() as session:
        enrolled_visit(session, "v1", "c0005", card={"visit_id": "v1"})
    first_has_read = threading.Event()

    def slow_note() -> None:
        with db.transaction() as session:
            visit = session.get(Visit, "v1", with_for_update=True)
            assert visit is not None
            card = dict(visit.card or {})
            first_has_read.set()
            time.sleep(0.5)  # the colleague's claim arrives meanwhile
            visit.card = {**card, "notes": ["Has a fitting room booked"]}

    note = threading.Thread(target=slow_note)
    note.start()
    assert first_has_read.wait(5)
    with db.transaction() as session:
        visit = session.get(Visit, "v1", with_for_update=True)
        assert visit is not None
        visit.card = {**(visit.card or {}), "helped_by": "Priya"}
    note.join(5)
    with db.transaction() as session:
        visit = session.get(Visit, "v1")
        assert visit is not None
        assert visit.card == {
            "visit_id": "v1",
            "notes": ["Has a fitting room booked"],
            "helped_by": "Priya",
        }
