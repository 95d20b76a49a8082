"""A customer's purchases on every channel (scope it) and their digital receipts (scope enroll)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from store_hub.api.auth import require_scope
from store_hub.api.context import hub
from store_hub.api.sales import ReceiptSchema
from store_hub.operations import sales
from store_hub.operations.erasure import ERASED

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/api/v1/customers/<string:customer_id>",
    description="Purchase history and digital receipts",
)


class HistoryEntrySchema(Schema):
    channel = fields.String(metadata={"description": "online or store"})
    ref = fields.String(metadata={"description": "online order id or in-store receipt id"})
    at = fields.String(metadata={"description": "RFC 3339 UTC"})
    total = fields.String()
    currency = fields.String()
    store_id = fields.String(metadata={"description": "in-store receipts only"})


class HistorySchema(Schema):
    customer_id = fields.String()
    online_status = fields.String(
        metadata={"description": "ok, partial or unavailable: whether online orders are complete"}
    )
    history = fields.List(fields.Nested(HistoryEntrySchema))


class ReceiptQuerySchema(Schema):
    store_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


def _check_customer(customer_id: str) -> None:
    if not 1 <= len(customer_id) <= 64 or customer_id == ERASED:
        abort(422, message="customer_id must be 1-64 characters and not a placeholder")


@blp.route("/history")
class History(MethodView):
    @require_scope("it")
    @blp.response(200, HistorySchema)
    def get(self, customer_id: str) -> dict[str, Any]:
        """Online orders and in-store receipts in one timeline, newest first."""
        _check_customer(customer_id)
        h = hub()
        # The online part comes through the cached, guarded connector: a dead online store
        # leaves the in-store part and says so in online_status.
        snapshot = h.commerce.fetch_customer(customer_id)
        online = snapshot.to_card_dict()["orders"]
        with h.db.transaction() as session:
            receipts = sales.customer_receipts(session, customer_id)
            timeline = sales.merged_history(online, receipts)
        return {"customer_id": customer_id, "online_status": snapshot.status, "history": timeline}


@blp.route("/receipts/<string:receipt_id>")
class Receipt(MethodView):
    @require_scope("enroll")
    @blp.arguments(ReceiptQuerySchema, location="query")
    @blp.response(200, ReceiptSchema)
    def get(self, query: dict[str, Any], customer_id: str, receipt_id: str) -> dict[str, Any]:
        """The customer's digital receipt: lines and totals.

        Receipt ids are unique per store; when a chain-wide hub holds the same id from two
        stores for this customer, `?store_id=` picks one (409 otherwise).
        """
        _check_customer(customer_id)
        with hub().db.transaction() as session:
            found = sales.customer_receipt(session, customer_id, receipt_id, query["store_id"])
        if not found:
            abort(404, message=f"no receipt {receipt_id} for customer {customer_id}")
        if len(found) > 1:
            stores = ", ".join(sorted(r["store_id"] for r in found))
            abort(409, message=f"receipt {receipt_id} exists in stores {stores}: add ?store_id=")
        return found[0]
