"""In-store sales: receipts from the POS, recorded once, and the customer's merged history.

A receipt is recorded exactly once per (store, receipt_id): the till may retry after a lost
answer, and gets the stored receipt back. A retry carrying a different receipt is a conflict,
not a silent overwrite. Two tills racing with the same id meet at the unique constraint.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Sale, SaleLine

CENT = Decimal("0.01")


class ReceiptConflict(Exception):
    """The receipt id was already recorded with different contents."""


@dataclass(frozen=True)
class LineIn:
    """A receipt line as the till sends it."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    currency: str
    discount: Decimal = Decimal("0.00")

    @property
    def gross(self) -> Decimal:
        """Quantity times unit price, before discount."""
        return (self.unit_price * self.quantity).quantize(CENT)


@dataclass(frozen=True)
class ReceiptIn:
    """A receipt as the till sends it; `discount` is every discount, lines' and basket's."""

    receipt_id: str
    sold_at: datetime
    currency: str
    lines: tuple[LineIn, ...]
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    payment_type: str
    customer_id: str | None = None
    offer_codes: tuple[str, ...] = ()


def totals_problems(receipt: ReceiptIn) -> dict[tuple[str, ...], str]:
    """What does not add up, by the body's field path; empty when all is right."""
    problems: dict[tuple[str, ...], str] = {}
    currencies = {line.currency for line in receipt.lines}
    if currencies - {receipt.currency}:
        problems[("totals", "currency")] = (
            f"lines are in {', '.join(sorted(currencies))} but totals in {receipt.currency}; "
            "one receipt has one currency"
        )
    for number, line in enumerate(receipt.lines):
        if line.discount > line.gross:
            problems[("lines", str(number), "discount")] = (
                f"line {number} discount {line.discount} exceeds its amount {line.gross}"
            )
    subtotal = sum((line.gross for line in receipt.lines), Decimal("0.00"))
    line_discounts = sum((line.discount for line in receipt.lines), Decimal("0.00"))
    if receipt.subtotal != subtotal:
        problems[("totals", "subtotal")] = (
            f"subtotal is {receipt.subtotal} but the lines' quantity x unit_price come to "
            f"{subtotal}"
        )
    if receipt.discount < line_discounts:
        problems[("totals", "discount")] = (
            f"discount is {receipt.discount} but the lines' discounts alone come to "
            f"{line_discounts}; it includes them plus any basket discount"
        )
    expected = receipt.subtotal - receipt.discount
    if receipt.total != expected:
        problems[("totals", "total")] = (
            f"total is {receipt.total} but subtotal {receipt.subtotal} minus discount "
            f"{receipt.discount} is {expected}"
        )
    return problems


def fingerprint(receipt: ReceiptIn) -> str:
    """A digest of the receipt's contents, the same for the same receipt however it is spelt."""
    canonical = {
        "receipt_id": receipt.receipt_id,
        "sold_at": format_timestamp(receipt.sold_at),
        "currency": receipt.currency,
        "customer_id": receipt.customer_id,
        "payment_type": receipt.payment_type,
        "offer_codes": list(receipt.offer_codes),
        "totals": [str(receipt.subtotal), str(receipt.discount), str(receipt.total)],
        "lines": [
            [line.sku, line.name, line.quantity, str(line.unit_price), str(line.discount)]
            for line in receipt.lines
        ],
    }
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def _find(session: Session, store_id: str, receipt_id: str) -> Sale | None:
    return session.scalars(
        select(Sale).where(Sale.store_id == store_id, Sale.receipt_id == receipt_id)
    ).first()


def _lines(session: Session, sale_id: str) -> list[SaleLine]:
    return list(
        session.scalars(select(SaleLine).where(SaleLine.sale_id == sale_id).order_by("line_no"))
    )


def _replay(session: Session, sale: Sale, digest: str) -> dict[str, Any]:
    if sale.fingerprint != digest:
        raise ReceiptConflict(
            f"receipt {sale.receipt_id} was already recorded in store {sale.store_id} with "
            "different contents; a correction needs a new receipt id"
        )
    return receipt_view(sale, _lines(session, sale.id))


def record_sale(
    db: Database, store_id: str, receipt: ReceiptIn, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Record a receipt once: (the stored receipt, whether it was recorded by this call)."""
    digest = fingerprint(receipt)
    try:
        with db.transaction() as session:
            existing = _find(session, store_id, receipt.receipt_id)
            if existing is not None:
                return _replay(session, existing, digest), False
            sale = _new_sale(store_id, receipt, digest, now)
            session.add(sale)
            session.flush()  # the parent row first: its lines reference it
            lines = _new_lines(sale.id, receipt.lines)
            session.add_all(lines)
            session.flush()
            return receipt_view(sale, lines), True
    except IntegrityError:
        # Another request recorded the same receipt between our look-up and insert.
        with db.transaction() as session:
            existing = _find(session, store_id, receipt.receipt_id)
            if existing is None:
                raise
            return _replay(session, existing, digest), False


def _new_sale(store_id: str, receipt: ReceiptIn, digest: str, now: datetime) -> Sale:
    return Sale(
        id=uuid.uuid4().hex,
        store_id=store_id,
        receipt_id=receipt.receipt_id,
        customer_id=receipt.customer_id,
        sold_at=receipt.sold_at,
        currency=receipt.currency,
        subtotal=receipt.subtotal,
        discount_total=receipt.discount,
        total=receipt.total,
        payment_type=receipt.payment_type,
        offer_codes=list(receipt.offer_codes),
        fingerprint=digest,
        recorded_at=now,
    )


def _new_lines(sale_id: str, lines: Iterable[LineIn]) -> list[SaleLine]:
    return [
        SaleLine(
            sale_id=sale_id,
            line_no=number,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            line_total=line.gross - line.discount,
        )
        for number, line in enumerate(lines)
    ]


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def receipt_view(sale: Sale, lines: Sequence[SaleLine]) -> dict[str, Any]:
    """The receipt as the API answers it: money as decimal strings, times RFC 3339 UTC."""
    return {
        "sale_id": sale.id,
        "store_id": sale.store_id,
        "receipt_id": sale.receipt_id,
        "customer_id": sale.customer_id,
        "sold_at": format_timestamp(sale.sold_at),
        "currency": sale.currency,
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "currency": sale.currency,
                "discount": _money(line.discount),
                "line_total": _money(line.line_total),
            }
            for line in lines
        ],
        "totals": {
            "subtotal": _money(sale.subtotal),
            "discount": _money(sale.discount_total),
            "total": _money(sale.total),
            "currency": sale.currency,
        },
        "offer_codes": list(sale.offer_codes),
        "payment_type": sale.payment_type,
        "recorded_at": format_timestamp(sale.recorded_at),
    }


def customer_receipts(session: Session, customer_id: str, limit: int = 200) -> list[Sale]:
    """A customer's in-store receipts in every store, newest first."""
    return list(
        session.scalars(
            select(Sale)
            .where(Sale.customer_id == customer_id)
            .order_by(Sale.sold_at.desc(), Sale.receipt_id)
            .limit(limit)
        )
    )


def customer_receipt(
    session: Session, customer_id: str, receipt_id: str, store_id: str | None = None
) -> list[dict[str, Any]]:
    """The customer's receipts with this id (one per store at most), as the API shows them."""
    query = select(Sale).where(Sale.customer_id == customer_id, Sale.receipt_id == receipt_id)
    if store_id is not None:
        query = query.where(Sale.store_id == store_id)
    return [receipt_view(sale, _lines(session, sale.id)) for sale in session.scalars(query)]


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def merged_history(
    online_orders: Iterable[Mapping[str, Any]], receipts: Iterable[Sale], limit: int | None = None
) -> list[dict[str, Any]]:
    """Online orders (card form) and in-store receipts in one timeline, newest first."""
    entries: list[tuple[datetime, dict[str, Any]]] = []
    for order in online_orders:
        at = order.get("placed_at")
        if not isinstance(at, str):
            continue
        entries.append(
            (
                _instant(at),
                {
                    "channel": "online",
                    "ref": order.get("order_id"),
                    "at": at,
                    "total": order.get("total"),
                    "currency": order.get("currency"),
                },
            )
        )
    for sale in receipts:
        entries.append(
            (
                sale.sold_at,
                {
                    "channel": "store",
                    "ref": sale.receipt_id,
                    "at": format_timestamp(sale.sold_at),
                    "total": _money(sale.total),
                    "currency": sale.currency,
                    "store_id": sale.store_id,
                },
            )
        )
    entries.sort(key=lambda entry: (entry[0], entry[1]["channel"], entry[1]["ref"] or ""))
    timeline = [entry for _, entry in reversed(entries)]
    return timeline if limit is None else timeline[:limit]
