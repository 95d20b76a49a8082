"""In-store sales from the store's tills (scope pos, contract section 3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from store_hub.api.auth import require_scope
from store_hub.api.context import check_store, hub
from store_hub.operations import sales as ops
from store_hub.operations.erasure import ERASED

blp = Blueprint(
    "sales",
    __name__,
    url_prefix="/api/v1/stores/<string:store_id>",
    description="In-store receipts (scope pos)",
)

# Money travels as decimal strings so no float ever rounds a price.
_MONEY = validate.Regexp(
    r"^\d{1,10}(\.\d{1,2})?$", error='must be a decimal string such as "89.00"'
)
_CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as GBP")


def _not_placeholder(value: str) -> None:
    if value == ERASED:
        raise ValidationError(f"{ERASED!r} is the placeholder of erased customers")


class SaleLineSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10_000))
    unit_price = fields.String(required=True, validate=_MONEY)
    currency = fields.String(required=True, validate=_CURRENCY)
    discount = fields.String(load_default="0.00", validate=_MONEY)


class TotalsSchema(Schema):
    subtotal = fields.String(
        required=True, validate=_MONEY, metadata={"description": "sum of quantity x unit_price"}
    )
    discount = fields.String(
        load_default="0.00",
        validate=_MONEY,
        metadata={"description": "every discount: the lines' plus any basket discount"},
    )
    total = fields.String(
        required=True, validate=_MONEY, metadata={"description": "subtotal minus discount"}
    )
    currency = fields.String(required=True, validate=_CURRENCY)


class SaleBodySchema(Schema):
    receipt_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    sold_at = fields.AwareDateTime(required=True)
    customer_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=64), _not_placeholder],
    )
    lines = fields.List(
        fields.Nested(SaleLineSchema), required=True, validate=validate.Length(min=1, max=500)
    )
    totals = fields.Nested(TotalsSchema, required=True)
    offer_codes = fields.List(
        fields.String(validate=validate.Length(min=1, max=32)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    payment_type = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "card, cash, gift_card, mixed, ..."},
    )


class ReceiptLineSchema(Schema):
    line_no = fields.Integer()
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    unit_price = fields.String()
    currency = fields.String()
    discount = fields.String()
    line_total = fields.String()


class ReceiptTotalsSchema(Schema):
    subtotal = fields.String()
    discount = fields.String()
    total = fields.String()
    currency = fields.String()


class ReceiptSchema(Schema):
    sale_id = fields.String()
    store_id = fields.String()
    receipt_id = fields.String()
    customer_id = fields.String(allow_none=True)
    sold_at = fields.String(metadata={"description": "RFC 3339 UTC"})
    currency = fields.String()
    lines = fields.List(fields.Nested(ReceiptLineSchema))
    totals = fields.Nested(ReceiptTotalsSchema)
    offer_codes = fields.List(fields.String())
    payment_type = fields.String()
    recorded_at = fields.String(metadata={"description": "RFC 3339 UTC"})


def _receipt(body: dict[str, Any]) -> ops.ReceiptIn:
    totals = body["totals"]
    return ops.ReceiptIn(
        receipt_id=body["receipt_id"],
        sold_at=body["sold_at"],
        currency=totals["currency"],
        lines=tuple(
            ops.LineIn(
                sku=line["sku"],
                name=line["name"],
                quantity=line["quantity"],
                unit_price=Decimal(line["unit_price"]).quantize(ops.CENT),
                currency=line["currency"],
                discount=Decimal(line["discount"]).quantize(ops.CENT),
            )
            for line in body["lines"]
        ),
        subtotal=Decimal(totals["subtotal"]).quantize(ops.CENT),
        discount=Decimal(totals["discount"]).quantize(ops.CENT),
        total=Decimal(totals["total"]).quantize(ops.CENT),
        payment_type=body["payment_type"],
        customer_id=body["customer_id"],
        offer_codes=tuple(body["offer_codes"]),
    )


def _nested(problems: dict[tuple[str, ...], str]) -> dict[str, Any]:
    """{("totals", "total"): "..."} as {"totals": {"total": ["..."]}}, like field errors."""
    details: dict[str, Any] = {}
    for path, problem in problems.items():
        node = details
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = [problem]
    return details


@blp.route("/sales")
class Sales(MethodView):
    @require_scope("pos")
    @blp.arguments(SaleBodySchema)
    @blp.response(201, ReceiptSchema)
    @blp.alt_response(200, schema=ReceiptSchema, description="this receipt was already recorded")
    def post(self, body: dict[str, Any], store_id: str) -> Any:
        """Record an in-store receipt once; the same receipt_id again answers the stored one.

        Totals must add up to the cent: subtotal is the sum of quantity x unit_price, discount
        covers the lines' discounts (plus any basket discount), total is subtotal - discount.
        """
        check_store(store_id)
        receipt = _receipt(body)
        problems = ops.totals_problems(receipt)
        if problems:
            abort(422, errors={"json": _nested(problems)})
        h = hub()
        try:
            stored, created = ops.record_sale(h.db, store_id, receipt, h.clock.now())
        except ops.ReceiptConflict as conflict:
            abort(409, message=str(conflict))
        return stored, 201 if created else 200
