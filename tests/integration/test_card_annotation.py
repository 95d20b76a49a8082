"""Stock here, merged history and segments on the tablet card, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Visit
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.operations.sales import LineIn, ReceiptIn, record_sale
from store_hub.operations.stock import StockRow, annotate, annotate_card, upsert_stock

pytestmark = pytest.mark.integration
STORE = "s042"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def item(sku: str, size: str | None, **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "name": sku, "size": size, "colour": "Black", "price": "89.00",
            "currency": "GBP", "image_url": None, **extra}  # fmt: skip


def card(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "visit_id": "v1",
        "customer_id": "c0001",
        "profile_status": "ok",
        "profile": {"loyalty_tier": "silver", "lifetime_value": "640.00", "currency": "GBP"},
        "wishlist": [
            item("KN-0001-BLK-M", "M"),
            item("DR-0003-NAV-12", "12"),
            item("AC-0009-TAN-OS", "One size"),
        ],
        "cart": {
            "items": [
                {**item("TR-0002-KHA-10", "10"), "quantity": 1, "unit_price": "120.00"},
            ],
            "total": "320.00",
            "currency": "GBP",
            "updated_at": format_timestamp(NOW - timedelta(days=2)),
        },
        "orders": [
            {
                "order_id": "o1",
                "placed_at": format_timestamp(NOW - timedelta(days=200)),
                "total": "95.00",
                "currency": "GBP",
            },
        ],
    }
    base.update(changes)
    return base


def seed_stock(db: Database) -> None:
    rows = [
        StockRow("KN-0001-BLK-S", 0, "Womenswear, rail 4", "S"),
        StockRow("KN-0001-BLK-M", 2, "Womenswear, rail 4", "M"),
        StockRow("KN-0001-BLK-L", 0, "Womenswear, rail 4", "L"),
        StockRow("KN-0001-BLK-XS", 1, None, "XS"),
        # Another colour of the same style is another product on the card.
        StockRow("KN-0001-NAV-M", 5, "Womenswear, rail 5", "M"),
        # The wanted size is sold out; another size hangs at the back.
        StockRow("DR-0003-NAV-12", 0, None, "12"),
        StockRow("DR-0003-NAV-14", 1, "Dresses, back wall", "14"),
        StockRow("TR-0002-KHA-10", 3, "Menswear, table 2", "10"),
        StockRow("TR-0002-KHA-8", 1, None, "8"),
    ]
    with db.transaction() as session:
        upsert_stock(session, STORE, rows, NOW)
        # Another store's stock never shows here.
        upsert_stock(session, "s999", [StockRow("AC-0009-TAN-OS", 9, "Elsewhere", "One size")], NOW)


def test_each_wanted_item_says_how_many_here_which_sizes_and_where(db: Database) -> None:
    seed_stock(db)
    original = card()
    with db.transaction() as session:
        annotated = annotate_card(session, STORE, original, NOW)

    jumper, dress, scarf = annotated["wishlist"]
    assert jumper["stock_here"] == {
        "available": 2,
        "sizes": {"XS": 1, "S": 0, "M": 2, "L": 0},
        "location": "Womenswear, rail 4",
    }
    # Sold out in their size: the other size and where it is.
    assert dress["stock_here"] == {
        "available": 0,
        "sizes": {"12": 0, "14": 1},
        "location": "Dresses, back wall",
    }
    assert scarf["stock_here"] == {"available": 0, "sizes": {}, "location": None}
    [trousers] = annotated["cart"]["items"]
    assert trousers["stock_here"] == {
        "available": 3,
        "sizes": {"8": 1, "10": 3},
        "location": "Menswear, table 2",
    }
    assert annotated["in_stock_here_count"] == 2
    # The card the caller holds is not changed under it.
    assert "stock_here" not in original["wishlist"][0]
    assert annotated["cart"]["total"] == "320.00"


def test_a_card_without_wishlist_or_cart_says_nothing_is_in_stock(db: Database) -> None:
    with db.transaction() as session:
        annotated = annotate_card(session, STORE, card(wishlist=[], cart=None), NOW)
    assert annotated["in_stock_here_count"] == 0
    assert annotated["wishlist"] == [] and annotated["cart"] is None


def test_history_and_segments_join_the_card(db: Database) -> None:
    with db.transaction() as session:
        device = enroll_device(session, "c0001", Consents(True, True, True), 10, NOW)
        for day in (1, 3, 8, 15):
            at = NOW - timedelta(days=day)
            session.add(
                Visit(id=f"v{day}", store_id=STORE, device_id=device.id, customer_id="c0001",
                      arrived_at=at, last_seen=at, departed_at=at, zone=None)
            )  # fmt: skip
    line = LineIn("KN-0001-BLK-M", "Jumper", 1, Decimal("89.00"), "GBP")
    sale = ReceiptIn("R-9", NOW - timedelta(days=150), "GBP", (line,), Decimal("89.00"),
                     Decimal("0.00"), Decimal("89.00"), "card", "c0001")  # fmt: skip
    record_sale(db, STORE, sale, NOW)

    with db.transaction() as session:
        annotated = annotate_card(session, STORE, card(), NOW)
    assert [(e["channel"], e["ref"]) for e in annotated["history"]] == [
        ("store", "R-9"),
        ("online", "o1"),
    ]
    assert annotated["history"][0]["store_id"] == STORE
    assert annotated["orders"] == card()["orders"]
    # Last purchase 150 days ago, four days in the store this month, a 320 cart.
    assert annotated["segments"] == ["lapsing", "frequent", "high_cart_value"]

    with db.transaction() as session:
        pending = annotate_card(session, STORE, card(profile_status="unavailable"), NOW)
    assert "lapsing" not in pending["segments"]


def test_a_database_fault_leaves_the_card_as_the_online_store_gave_it(tmp_path: Path) -> None:
    # A database without the tables: every query fails.
    broken = Database.connect(f"sqlite:///{tmp_path}/empty.db", migrate=False)
    original = card()
    try:
        assert annotate(broken, STORE, original, NOW) is original
    finally:
        broken.dispose()
