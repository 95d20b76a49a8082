"""Store stock: bulk upserts by SKU, and what the tablet card says is in stock here.

Rows are written with one multi-row INSERT ... ON CONFLICT DO UPDATE per batch (SQLite and
PostgreSQL both speak it), so a stock system's 10,000-row push is ten statements, not 10,000.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import InventoryItem
from store_hub.operations.customer_view import add_history_and_segments

log = logging.getLogger(__name__)

# 1,000 rows x 8 columns stays far below SQLite's 32,766 and PostgreSQL's 65,535 bind
# parameters per statement, while keeping a 10,000-row push to ten round trips.
BATCH_ROWS = 1000
# Letter sizes in the order a rail hangs them; anything else sorts by number, then by text.
_LETTER_SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?")


@dataclass(frozen=True)
class StockRow:
    """One SKU's count in a store; None fields keep what the store already holds."""

    sku: str
    on_hand: int
    location: str | None = None
    size: str | None = None
    colour: str | None = None
    product_code: str | None = None


def product_code_for(sku: str, size: str | None) -> str:
    """The style-and-colour code a SKU's sizes share, when the stock system gives none.

    SKUs follow STYLE-COLOUR-SIZE (the reference store's and most fashion retailers'): a SKU
    with a size drops its last part. A SKU without a size is a product of its own.
    """
    if size and "-" in sku:
        return sku.rsplit("-", 1)[0]
    return sku


def duplicate_skus(rows: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Rows repeating an earlier row's SKU, by index, with the reason."""
    first: dict[str, int] = {}
    problems: dict[int, str] = {}
    for index, row in enumerate(rows):
        sku = row.get("sku")
        if not isinstance(sku, str):
            continue
        if sku in first:
            problems[index] = f"SKU {sku} already given in row {first[sku]}"
        else:
            first[sku] = index
    return problems


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"stock upsert is written for SQLite and PostgreSQL, not {dialect}")


def upsert_stock(session: Session, store_id: str, rows: Iterable[StockRow], now: datetime) -> int:
    """Insert or update the store's counts for these SKUs; how many rows were written.

    SKUs not named are left as they are. A row's omitted location, size or colour keeps the
    stored one; an omitted product code keeps the stored one, or is derived on insert.
    """
    insert = _insert(session)
    table: Table = InventoryItem.__table__  # type: ignore[assignment]
    batch: list[StockRow] = []
    written = 0

    def flush() -> None:
        # Rows naming their product code overwrite it; the others must not, so they go apart.
        for explicit in (True, False):
            values = [
                {
                    **asdict(row),
                    "store_id": store_id,
                    "product_code": row.product_code or product_code_for(row.sku, row.size),
                    "updated_at": now,
                }
                for row in batch
                if (row.product_code is not None) is explicit
            ]
            if not values:
                continue
            statement = insert(table).values(values)
            new = statement.excluded
            changes: dict[str, Any] = {
                "on_hand": new.on_hand,
                "location": func.coalesce(new.location, table.c.location),
                "size": func.coalesce(new.size, table.c.size),
                "colour": func.coalesce(new.colour, table.c.colour),
                "updated_at": new.updated_at,
            }
            if explicit:
                changes["product_code"] = new.product_code
            session.execute(
                statement.on_conflict_do_update(index_elements=["store_id", "sku"], set_=changes)
            )

    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            flush()
            written += len(batch)
            batch = []
    if batch:
        flush()
        written += len(batch)
    return written


def stock_item(session: Session, store_id: str, sku: str) -> InventoryItem | None:
    """One SKU's stock row in a store."""
    return session.get(InventoryItem, (store_id, sku))


def product_sizes(session: Session, store_id: str, product_code: str) -> dict[str, int]:
    """Count per size of one product in a store, in rail order."""
    return _sizes_by_code(session, store_id, [product_code]).get(product_code, {})


def _size_key(size: str) -> tuple[int, float, str]:
    upper = size.upper()
    if upper in _LETTER_SIZES:
        return (0, _LETTER_SIZES.index(upper), upper)
    number = _NUMBER.match(size)
    if number:
        return (1, float(number.group()), size)
    return (2, 0.0, size)


def _siblings(
    session: Session, store_id: str, codes: Iterable[str]
) -> dict[str, list[InventoryItem]]:
    wanted = sorted(set(codes))
    found: dict[str, list[InventoryItem]] = {code: [] for code in wanted}
    if not wanted:
        return found
    rows = session.scalars(
        select(InventoryItem).where(
            InventoryItem.store_id == store_id, InventoryItem.product_code.in_(wanted)
        )
    )
    for row in rows:
        found[row.product_code].append(row)
    return found


def _sizes(rows: Iterable[InventoryItem]) -> dict[str, int]:
    counts = {row.size or row.sku: row.on_hand for row in rows}
    return {size: counts[size] for size in sorted(counts, key=_size_key)}


def _sizes_by_code(
    session: Session, store_id: str, codes: Iterable[str]
) -> dict[str, dict[str, int]]:
    return {code: _sizes(rows) for code, rows in _siblings(session, store_id, codes).items()}


def _location(own: InventoryItem | None, siblings: list[InventoryItem]) -> str | None:
    # Where this SKU hangs; failing that, where its other sizes in stock are.
    if own is not None and own.location:
        return own.location
    stocked = [r.location for r in siblings if r.location and r.on_hand > 0]
    anywhere = [r.location for r in siblings if r.location]
    return next(iter(stocked or anywhere), None)


def annotate_stock(session: Session, store_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """The card with `stock_here` on each wishlist and cart item, and `in_stock_here_count`."""
    wishlist = [dict(item) for item in card.get("wishlist") or []]
    cart = dict(card["cart"]) if card.get("cart") else None
    cart_items = [dict(item) for item in (cart or {}).get("items") or []]
    items = wishlist + cart_items
    skus = sorted({str(item["sku"]) for item in items if item.get("sku")})
    own: dict[str, InventoryItem] = {}
    if skus:
        own = {
            row.sku: row
            for row in session.scalars(
                select(InventoryItem).where(
                    InventoryItem.store_id == store_id, InventoryItem.sku.in_(skus)
                )
            )
        }

    def code_of(item: Mapping[str, Any]) -> str:
        row = own.get(str(item.get("sku")))
        return row.product_code if row else product_code_for(str(item.get("sku")), item.get("size"))

    siblings = _siblings(session, store_id, (code_of(item) for item in items if item.get("sku")))
    available_skus: set[str] = set()
    for item in items:
        if not item.get("sku"):
            continue
        row = own.get(str(item["sku"]))
        family = siblings.get(code_of(item), [])
        available = row.on_hand if row else 0
        if available > 0:
            available_skus.add(str(item["sku"]))
        item["stock_here"] = {
            "available": available,
            "sizes": _sizes(family),
            "location": _location(row, family),
        }
    annotated = {**card, "wishlist": wishlist, "in_stock_here_count": len(available_skus)}
    if cart is not None:
        annotated["cart"] = {**cart, "items": cart_items}
    return annotated


def annotate_card(
    session: Session, store_id: str, card: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """The card with stock here, the merged purchase history and the customer's segments."""
    card = annotate_stock(session, store_id, card)
    return add_history_and_segments(session, card, now or datetime.now(UTC))


def annotate(db: Database, store_id: str, card: dict[str, Any], now: datetime) -> dict[str, Any]:
    """annotate_card in its own transaction; on a database fault the card goes out as it was.

    The arrival must reach the tablet with its online profile even when stock cannot be read
    (or a connector's odd data trips the history), so any failure here only drops the extras.
    """
    try:
        with db.transaction() as session:
            return annotate_card(session, store_id, card, now)
    except Exception:
        log.exception("could not add stock and history to the card of %s", card.get("visit_id"))
        return card
