"""Today's store numbers on a seeded day: footfall in local hours, dwell by zone, the funnel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import event

from store_hub.adapters.db.engine import Database
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.hub import build_hub
from store_hub.operations.store_stats import stats_today
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.store_day import STORE, seed_store_day

pytestmark = pytest.mark.integration
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path}/hub.db")
    yield database
    database.dispose()


def test_stats_count_the_stores_local_day_in_one_query_per_figure(db: Database) -> None:
    day = seed_store_day(db, BERLIN)
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    with db.transaction() as session:
        stats = stats_today(session, STORE, day.now, BERLIN)

    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3, selects
    assert stats["date"] == "2026-11-24"
    assert stats["time_zone"] == "Europe/Berlin"
    hours = {h["hour"]: h["arrivals"] for h in stats["footfall"] if h["arrivals"]}
    # 00:20 Berlin is 23:20 UTC the day before: counted today, in hour 0.
    assert hours == day.arrivals_by_hour
    assert len(stats["footfall"]) == 24
    assert stats["offer_funnel"] == day.funnel


def test_dwell_by_zone_has_median_and_total_with_open_stays_up_to_now(db: Database) -> None:
    day = seed_store_day(db, BERLIN)

    with db.transaction() as session:
        dwell = stats_today(session, STORE, day.now, BERLIN)["dwell_by_zone"]

    by_zone = {z["zone_id"]: z for z in dwell}
    # Entrance: 2, 2 and 1 minutes, and an open stay since 15:10 (20 min at 15:30).
    assert by_zone["entrance"] == {
        "zone_id": "entrance",
        "zone_name": "Entrance",
        "stays": 4,
        "median_s": 120.0,
        "total_s": (2 + 2 + 1 + 20) * 60.0,
    }
    # Fitting rooms: 18 and 10 minutes.
    assert by_zone["fitting"]["zone_name"] == "Fitting rooms"
    assert by_zone["fitting"]["median_s"] == 14 * 60.0
    assert by_zone["fitting"]["total_s"] == 28 * 60.0
    assert [z["zone_id"] for z in dwell] == ["fitting", "entrance"]  # most time first


def test_an_empty_day_is_all_zeros(db: Database) -> None:
    day = seed_store_day(db, BERLIN)

    with db.transaction() as session:
        stats = stats_today(session, "s999", day.now, BERLIN)

    assert sum(h["arrivals"] for h in stats["footfall"]) == 0
    assert stats["dwell_by_zone"] == []
    assert set(stats["offer_funnel"].values()) == {0}


def test_stats_api_needs_the_it_key_and_answers_json(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/hub.db"
    seeding = Database.connect(db_url)
    day = seed_store_day(seeding, BERLIN)
    seeding.dispose()
    config = HubConfig().with_overrides(
        store_id=STORE,
        database_url=db_url,
        it_api_key="test-it-key",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        store_time_zone="Europe/Berlin",
        clock_start=day.now.isoformat(),
    )
    hub = build_hub(config)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        url = f"{server.url}/api/v1/stores/{STORE}/stats/today"
        it = {"Authorization": "Bearer test-it-key"}
        assert requests.get(url, timeout=5).status_code == 401
        answer = requests.get(url, headers=it, timeout=5)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["offer_funnel"] == day.funnel
        assert body["date"] == "2026-11-24"
        other = requests.get(url.replace(STORE, "s999"), headers=it, timeout=5)
        assert other.status_code == 404
    finally:
        server.stop()
        hub.stop()
