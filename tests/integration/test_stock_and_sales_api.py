"""Stock, in-store sales, history and receipts over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import event, func, select, text

from store_hub.adapters.db.engine import make_engine
from store_hub.adapters.db.models import Sale, SaleLine, Visit
from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.demo.catalog import generate_catalog
from store_hub.demo.online_store import RunningStore, serve_in_thread
from store_hub.hub import Hub, build_hub
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.operations.events import VisitStarted
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration
STORE = "s042"
ANCHOR = datetime(2026, 11, 24, tzinfo=UTC)
POS = {"Authorization": "Bearer test-pos-key"}
IT = {"Authorization": "Bearer test-it-key"}
ENROLL = {"Authorization": "Bearer test-enroll-key"}


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningStore]:
    running = serve_in_thread(free_port(), anchor=ANCHOR)
    try:
        yield running
    finally:
        running.shutdown()


@dataclass
class Api:
    hub: Hub
    base: str

    def url(self, path: str) -> str:
        return f"{self.base}/api/v1{path}"

    def put(self, path: str, body: Any, headers: dict[str, str] = POS) -> requests.Response:
        return requests.put(self.url(path), json=body, headers=headers, timeout=60)

    def post(self, path: str, body: Any, headers: dict[str, str] = POS) -> requests.Response:
        return requests.post(self.url(path), json=body, headers=headers, timeout=10)

    def get(self, path: str, headers: dict[str, str] = POS) -> requests.Response:
        return requests.get(self.url(path), headers=headers, timeout=10)


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path, shop: RunningStore) -> Iterator[Api]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/hub.db"
    else:
        url = request.getfixturevalue("postgres_url")
        with make_engine(url).begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    config = HubConfig().with_overrides(
        store_id=STORE,
        database_url=url,
        pos_api_key="test-pos-key",
        it_api_key="test-it-key",
        enroll_api_key="test-enroll-key",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        commerce_url=shop.url,
        commerce_timeout_s=2.0,
    )
    hub = build_hub(config)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        yield Api(hub, server.url)
    finally:
        server.stop()
        hub.stop()


def stock_row(sku: str, on_hand: int, **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "on_hand": on_hand, **extra}


def test_inventory_upsert_keeps_omitted_fields_and_answers_sizes(api: Api) -> None:
    rows = [
        stock_row("KN-0001-BLK-S", 0, size="S", location="Womenswear, rail 4"),
        stock_row("KN-0001-BLK-M", 2, size="M", colour="Black", location="Womenswear, rail 4"),
        stock_row("KN-0001-BLK-L", 0, size="L"),
        stock_row("KN-0001-NAV-M", 7, size="M"),
    ]
    response = api.put(f"/stores/{STORE}/inventory", rows)
    assert response.status_code == 200, response.text
    assert response.json() == {"store_id": STORE, "upserted": 4}

    # A recount: only the count is sent; the location and size stay as they were.
    assert api.put(f"/stores/{STORE}/inventory", [stock_row("KN-0001-BLK-M", 3)]).ok
    item = api.get(f"/stores/{STORE}/inventory/KN-0001-BLK-M").json()
    assert item["on_hand"] == 3
    assert item["location"] == "Womenswear, rail 4"
    assert (item["size"], item["colour"]) == ("M", "Black")
    assert item["product_code"] == "KN-0001-BLK"
    # The other colour is another product: its M is not among these sizes.
    assert item["sizes"] == {"S": 0, "M": 3, "L": 0}

    missing = api.get(f"/stores/{STORE}/inventory/NOPE-1")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_inventory_refuses_bad_rows_naming_row_and_field_and_writes_nothing(api: Api) -> None:
    rows = [
        stock_row("TS-0002-WHT-M", 4),
        stock_row("TS-0002-WHT-L", -1),
        {"on_hand": 3},
        stock_row("TS-0002-WHT-XL", "many"),
    ]
    response = api.put(f"/stores/{STORE}/inventory", rows)
    assert response.status_code == 422
    details = response.json()["error"]["details"]["json"]
    assert set(details) == {"1", "2", "3"}
    assert "on_hand" in details["1"] and "sku" in details["2"] and "on_hand" in details["3"]
    assert api.get(f"/stores/{STORE}/inventory/TS-0002-WHT-M").status_code == 404

    duplicate = api.put(
        f"/stores/{STORE}/inventory",
        [stock_row("A-1", 1), stock_row("B-1", 1), stock_row("A-1", 2)],
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["error"]["details"]["json"] == {
        "2": {"sku": ["SKU A-1 already given in row 0"]}
    }


def test_more_than_ten_thousand_rows_are_refused(api: Api) -> None:
    rows = [stock_row(f"SKU-{n:05d}", 1) for n in range(10_001)]
    response = api.put(f"/stores/{STORE}/inventory", rows)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["json"] == {
        "_schema": ["at most 10000 rows per request"]
    }
    assert api.get(f"/stores/{STORE}/inventory/SKU-00000").status_code == 404


def test_inventory_is_bound_to_this_store_and_to_the_pos_key(api: Api) -> None:
    other = api.put("/stores/s999/inventory", [stock_row("A-1", 1)])
    assert other.status_code == 404
    assert "s042" in other.json()["error"]["message"]
    assert api.put(f"/stores/{STORE}/inventory", [stock_row("A-1", 1)], IT).status_code == 401
    assert api.get(f"/stores/{STORE}/inventory/A-1", {}).status_code == 401


def test_ten_thousand_rows_upsert_in_a_few_statements_and_seconds(api: Api) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    event.listen(api.hub.db.engine, "before_cursor_execute", count)
    rows = [
        stock_row(f"SKU-{n:05d}-{size}", n % 5, size=size, location=f"rail {n % 40}")
        for n in range(2500)
        for size in ("S", "M", "L", "XL")
    ]
    assert len(rows) == 10_000
    try:
        started = time.perf_counter()
        first = api.put(f"/stores/{STORE}/inventory", rows)
        inserted = time.perf_counter() - started
        started = time.perf_counter()
        second = api.put(f"/stores/{STORE}/inventory", [{**r, "on_hand": 9} for r in rows])
        updated = time.perf_counter() - started
    finally:
        event.remove(api.hub.db.engine, "before_cursor_execute", count)
    assert first.json() == second.json() == {"store_id": STORE, "upserted": 10_000}
    print(f"10,000-row upsert: insert {inserted:.2f} s, update {updated:.2f} s")
    # One multi-row statement per 1,000 rows, not one per row.
    assert len(statements) == 20
    assert inserted < 10 and updated < 10
    item = api.get(f"/stores/{STORE}/inventory/SKU-01234-M").json()
    assert item["on_hand"] == 9
    assert item["sizes"] == {"S": 9, "M": 9, "L": 9, "XL": 9}


def receipt(receipt_id: str = "R-1001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_id": receipt_id,
        "sold_at": "2026-11-24T10:15:00Z",
        "customer_id": "c0001",
        "lines": [
            {
                "sku": "KN-0001-BLK-M",
                "name": "Merino roll-neck jumper",
                "quantity": 1,
                "unit_price": "89.00",
                "currency": "GBP",
                "discount": "13.35",
            },
            {
                "sku": "TS-0002-WHT-M",
                "name": "Organic cotton T-shirt",
                "quantity": 2,
                "unit_price": "25.50",
                "currency": "GBP",
            },
        ],
        "totals": {"subtotal": "140.00", "discount": "13.35", "total": "126.65", "currency": "GBP"},
        "offer_codes": ["K7QX2M9P"],
        "payment_type": "card",
    }
    body.update(changes)
    return body


def test_a_receipt_is_recorded_once_and_a_replay_gets_the_stored_answer(api: Api) -> None:
    first = api.post(f"/stores/{STORE}/sales", receipt())
    assert first.status_code == 201, first.text
    stored = first.json()
    assert stored["totals"] == {
        "subtotal": "140.00",
        "discount": "13.35",
        "total": "126.65",
        "currency": "GBP",
    }
    assert [line["line_total"] for line in stored["lines"]] == ["75.65", "51.00"]
    assert stored["offer_codes"] == ["K7QX2M9P"]

    again = api.post(f"/stores/{STORE}/sales", receipt())
    assert again.status_code == 200
    assert again.json() == stored

    changed = receipt(totals={**receipt()["totals"]}, payment_type="cash")
    conflict = api.post(f"/stores/{STORE}/sales", changed)
    assert conflict.status_code == 409
    assert "different contents" in conflict.json()["error"]["message"]
    with api.hub.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Sale)) == 1
        assert session.scalar(select(func.count()).select_from(SaleLine)) == 2


def test_concurrent_replays_of_one_receipt_record_it_once(api: Api) -> None:
    statuses: list[int] = []
    gate = threading.Barrier(8)

    def send() -> None:
        gate.wait()
        statuses.append(api.post(f"/stores/{STORE}/sales", receipt("R-RACE")).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 7 + [201]
    with api.hub.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Sale)) == 1


def test_totals_that_do_not_add_up_are_refused_saying_why(api: Api) -> None:
    wrong = receipt(totals={"subtotal": "140.00", "discount": "13.35", "total": "127.00",
                            "currency": "GBP"})  # fmt: skip
    response = api.post(f"/stores/{STORE}/sales", wrong)
    assert response.status_code == 422
    problem = response.json()["error"]["details"]["json"]["totals"]["total"][0]
    assert problem == "total is 127.00 but subtotal 140.00 minus discount 13.35 is 126.65"

    subtotal = receipt(totals={"subtotal": "139.99", "discount": "13.34", "total": "126.65",
                               "currency": "GBP"})  # fmt: skip
    details = api.post(f"/stores/{STORE}/sales", subtotal).json()["error"]["details"]["json"]
    assert set(details["totals"]) == {"subtotal", "discount"}

    lines = receipt()["lines"]
    euro = receipt(lines=[lines[0], {**lines[1], "currency": "EUR"}])
    details = api.post(f"/stores/{STORE}/sales", euro).json()["error"]["details"]["json"]
    assert "one currency" in details["totals"]["currency"][0]


def test_malformed_receipts_get_field_errors(api: Api) -> None:
    lines = receipt()["lines"]
    as_float = receipt(lines=[{**lines[0], "unit_price": 89.0}])
    details = api.post(f"/stores/{STORE}/sales", as_float).json()["error"]["details"]["json"]
    assert "unit_price" in details["lines"]["0"]
    naive = api.post(f"/stores/{STORE}/sales", receipt(sold_at="2026-11-24T10:15:00"))
    assert naive.status_code == 422
    assert "sold_at" in naive.json()["error"]["details"]["json"]
    empty = api.post(f"/stores/{STORE}/sales", receipt(lines=[]))
    assert "lines" in empty.json()["error"]["details"]["json"]
    assert api.post("/stores/s999/sales", receipt()).status_code == 404
    assert api.post(f"/stores/{STORE}/sales", receipt(), ENROLL).status_code == 401


def test_history_merges_online_orders_and_store_receipts_newest_first(api: Api) -> None:
    orders = generate_catalog(anchor=ANCHOR).orders["c0001"]
    newest_online = max(order.placed_at for order in orders)
    before = (newest_online - timedelta(hours=1)).isoformat()
    after = (ANCHOR + timedelta(hours=10)).isoformat()
    assert api.post(f"/stores/{STORE}/sales", receipt("R-OLD", sold_at=before)).status_code == 201
    assert api.post(f"/stores/{STORE}/sales", receipt("R-NEW", sold_at=after)).status_code == 201
    assert api.post(f"/stores/{STORE}/sales", receipt("R-X", customer_id=None)).ok

    response = api.get("/customers/c0001/history", IT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["online_status"] == "ok"
    history = body["history"]
    refs = [entry["ref"] for entry in history]
    assert refs[0] == "R-NEW"
    assert refs[1] == orders[0].order_id
    assert refs[2] == "R-OLD"
    assert "R-X" not in refs
    assert {e["ref"] for e in history if e["channel"] == "online"} == {
        o.order_id for o in sorted(orders, key=lambda o: o.placed_at)[-10:]
    }
    assert history[0] == {
        "channel": "store",
        "ref": "R-NEW",
        "at": "2026-11-24T10:00:00.000Z",
        "total": "126.65",
        "currency": "GBP",
        "store_id": STORE,
    }
    times = [entry["at"] for entry in history]
    assert times == sorted(times, reverse=True)
    assert api.get("/customers/c0001/history", POS).status_code == 401


def test_the_customer_gets_their_digital_receipt_and_nobody_else_does(api: Api) -> None:
    assert api.post(f"/stores/{STORE}/sales", receipt("R-2001")).status_code == 201
    response = api.get("/customers/c0001/receipts/R-2001", ENROLL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["receipt_id"] == "R-2001"
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [
        ("KN-0001-BLK-M", 1),
        ("TS-0002-WHT-M", 2),
    ]
    assert body["totals"]["total"] == "126.65"
    other = api.get("/customers/c0002/receipts/R-2001", ENROLL)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    assert api.get("/customers/c0001/receipts/R-2001", POS).status_code == 401
    assert api.get("/customers/erased/receipts/R-2001", ENROLL).status_code == 422


def test_an_arrival_card_carries_stock_here_history_and_segments(api: Api) -> None:
    catalog = generate_catalog(anchor=ANCHOR)
    wanted = [entry.sku for entry in catalog.wishlists["c0001"]]
    variant = catalog.variants[wanted[0]]
    rows = [
        stock_row(sku, 2 if sku == wanted[0] else 0, size=v.size, location="Front table")
        for sku, v in catalog.variants.items()
        if v.product_id == variant.product_id
    ]
    assert api.put(f"/stores/{STORE}/inventory", rows).ok
    assert api.post(f"/stores/{STORE}/sales", receipt("R-ARR")).status_code == 201
    now = datetime.now(UTC)
    with api.hub.db.transaction() as session:
        device = enroll_device(session, "c0001", Consents(True, False, True), 10, now)
        session.add(Visit(id="v-arr", store_id=STORE, device_id=device.id, customer_id="c0001",
                          arrived_at=now, last_seen=now, departed_at=None, zone=None))  # fmt: skip
        device_id = device.id

    api.hub.arrivals.handle_arrival(
        VisitStarted(STORE, "v-arr", device_id, "c0001", now, None, None)
    )

    with api.hub.db.transaction() as session:
        visit = session.get(Visit, "v-arr")
        assert visit is not None and visit.card is not None
        card = visit.card
    assert card["profile_status"] == "ok"
    first = card["wishlist"][0]
    assert first["sku"] == wanted[0]
    assert first["stock_here"]["available"] == 2
    assert first["stock_here"]["location"] == "Front table"
    assert first["stock_here"]["sizes"][variant.size] == 2
    assert card["in_stock_here_count"] >= 1
    assert ("store", "R-ARR") in [(e["channel"], e["ref"]) for e in card["history"]]
    assert isinstance(card["segments"], list)


def test_erasure_keeps_receipts_for_the_books_but_not_the_customer(api: Api) -> None:
    assert api.post(f"/stores/{STORE}/sales", receipt("R-ERASE")).status_code == 201
    erased = api.post("/customers/c0001/erase", {}, ENROLL)
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"]["sales"] == 1
    with api.hub.db.transaction() as session:
        sale = session.scalars(select(Sale).where(Sale.receipt_id == "R-ERASE")).one()
        assert sale.customer_id == "erased"
        assert str(sale.total) == "126.65"
        assert session.scalar(select(func.count()).select_from(SaleLine)) == 2
    assert api.get("/customers/c0001/receipts/R-ERASE", ENROLL).status_code == 404
    history = api.get("/customers/c0001/history", IT).json()["history"]
    assert "R-ERASE" not in [entry["ref"] for entry in history]
