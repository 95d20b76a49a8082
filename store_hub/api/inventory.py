"""Store stock for the store's stock system (scope pos): bulk upsert and look-up by SKU."""

from __future__ import annotations

from typing import Any, NoReturn

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, pre_load, validate

from store_hub.api.auth import require_scope
from store_hub.api.context import check_store, hub
from store_hub.operations import stock

blp = Blueprint(
    "inventory",
    __name__,
    url_prefix="/api/v1/stores/<string:store_id>",
    description="Store stock by SKU (scope pos)",
)

MAX_ROWS = 10_000
_TEXT = validate.Length(min=1, max=100)


class StockRowSchema(Schema):
    """One SKU's count; omitted location, size, colour and product code keep stored values."""

    sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    on_hand = fields.Integer(required=True, strict=False, validate=validate.Range(0, 1_000_000))
    location = fields.String(load_default=None, allow_none=True, validate=_TEXT)
    size = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 32))
    colour = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 32))
    product_code = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(1, 64)
    )

    @pre_load
    def _blank_is_absent(self, data: Any, **_: Any) -> Any:
        # A CSV cell or a form field left empty means "not given", not an empty location.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and v == "")}
        return data


class StockItemSchema(Schema):
    store_id = fields.String()
    sku = fields.String()
    product_code = fields.String()
    on_hand = fields.Integer()
    location = fields.String(allow_none=True)
    size = fields.String(allow_none=True)
    colour = fields.String(allow_none=True)
    updated_at = fields.DateTime()
    sizes = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "on hand per size of the same product, in rail order"},
    )


class UpsertResultSchema(Schema):
    store_id = fields.String()
    upserted = fields.Integer()


def _not_found(message: str) -> NoReturn:
    abort(404, message=message)
    raise AssertionError("abort raises")


@blp.route("/inventory")
class Inventory(MethodView):
    @require_scope("pos")
    @blp.arguments(StockRowSchema(many=True), location="json")
    @blp.response(200, UpsertResultSchema)
    def put(self, rows: list[dict[str, Any]], store_id: str) -> dict[str, Any]:
        """Insert or update the counts of up to 10,000 SKUs; SKUs not named stay as they are."""
        check_store(store_id)
        if len(rows) > MAX_ROWS:
            abort(422, errors={"json": {"_schema": [f"at most {MAX_ROWS} rows per request"]}})
        duplicates = stock.duplicate_skus(rows)
        if duplicates:
            abort(
                422,
                errors={"json": {str(i): {"sku": [reason]} for i, reason in duplicates.items()}},
            )
        h = hub()
        with h.db.transaction() as session:
            count = stock.upsert_stock(
                session, store_id, (stock.StockRow(**row) for row in rows), h.clock.now()
            )
        return {"store_id": store_id, "upserted": count}


@blp.route("/inventory/<string:sku>")
class InventoryItem(MethodView):
    @require_scope("pos")
    @blp.response(200, StockItemSchema)
    def get(self, store_id: str, sku: str) -> dict[str, Any]:
        """One SKU's count and location, with the counts of its product's other sizes."""
        check_store(store_id)
        with hub().db.transaction() as session:
            item = stock.stock_item(session, store_id, sku)
            if item is None:
                _not_found(f"no stock record for SKU {sku} in store {store_id}")
            sizes = stock.product_sizes(session, store_id, item.product_code)
        return {
            "store_id": item.store_id,
            "sku": item.sku,
            "product_code": item.product_code,
            "on_hand": item.on_hand,
            "location": item.location,
            "size": item.size,
            "colour": item.colour,
            "updated_at": item.updated_at,
            "sizes": sizes,
        }
