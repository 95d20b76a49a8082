"""The POS API (contract section 3): validate a code, redeem it exactly once, void it once.

Thin: the rules of redemption live in store_hub.operations.offers. The `pos` API key is bound
to this hub's store, so a request for another store is refused (403).
"""

from __future__ import annotations

import base64
from typing import Any, NoReturn

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from store_hub.api.auth import require_scope
from store_hub.api.context import hub
from store_hub.domain.offer_qr import key_id, verify_key_pem
from store_hub.operations import offers as ops

blp = Blueprint("offers", __name__, url_prefix="/api/v1", description="Offers at the till (POS)")

_MAX_KEY = 128


class MoneySchema(Schema):
    amount = fields.String(metadata={"description": "decimal string, e.g. '4.99'"})
    currency = fields.String(metadata={"description": "ISO 4217"})


class OfferSchema(Schema):
    code = fields.String()
    offer_id = fields.String()
    store_id = fields.String()
    rule_id = fields.String()
    status = fields.String(metadata={"description": "issued, delivered or opened: redeemable"})
    kind = fields.String(metadata={"description": "percent or amount"})
    scope = fields.String(metadata={"description": "item, category or basket"})
    percent_off = fields.Integer(allow_none=True)
    amount_off = fields.Nested(MoneySchema, allow_none=True)
    sku = fields.String(allow_none=True)
    item_name = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    discount = fields.Nested(MoneySchema, allow_none=True, metadata={"description": "exact"})
    max_discount = fields.Nested(MoneySchema, metadata={"description": "the most it takes off"})
    min_spend = fields.Nested(MoneySchema, allow_none=True)
    title = fields.String()
    body = fields.String()
    issued_at = fields.String()
    expires_at = fields.String()


class RedemptionCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    store_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    order_ref = fields.String(required=True, validate=validate.Length(min=1, max=64))


class RedemptionSchema(Schema):
    redemption_id = fields.String()
    offer_id = fields.String()
    code = fields.String()
    store_id = fields.String()
    order_ref = fields.String()
    amount = fields.Nested(MoneySchema)
    redeemed_at = fields.String()
    voided_at = fields.String(allow_none=True)


class VerifyKeySchema(Schema):
    algorithm = fields.String()
    key_id = fields.String(metadata={"description": "hex, as carried in QR payloads"})
    public_key_pem = fields.String()
    public_key = fields.String(metadata={"description": "raw 32-byte key, base64url"})


def _fail(problem: ops.OfferProblem) -> NoReturn:
    abort(problem.status, message=problem.message, error_code=problem.code)
    raise AssertionError("abort returned")


def _this_store(store_id: str) -> None:
    if store_id != hub().config.store_id:
        abort(
            403,
            message=f"this till's key is for store {hub().config.store_id}, not {store_id}",
            error_code="wrong_store",
        )


@blp.route("/offers/verify-key")
class OfferVerifyKey(MethodView):
    @require_scope("pos")
    @blp.response(200, VerifyKeySchema)
    def get(self) -> dict[str, Any]:
        """The Ed25519 public key that verifies offer QR codes offline at the till."""
        public = hub().offers.signing_key.public_key()
        raw = public.public_bytes_raw()
        return {
            "algorithm": "Ed25519",
            "key_id": key_id(public).hex(),
            "public_key_pem": verify_key_pem(public).decode("ascii"),
            "public_key": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
        }


@blp.route("/offers/<string:code>")
class OfferItem(MethodView):
    @require_scope("pos")
    @blp.response(200, OfferSchema)
    def get(self, code: str) -> dict[str, Any]:
        """Validate a code without using it: what it takes off, and until when.

        404 unknown, 410 expired, 409 already redeemed (or voided), 403 another store's offer.
        """
        h = hub()
        try:
            return ops.validate(h.db, code, h.config.store_id, h.clock.now())
        except ops.OfferProblem as problem:
            _fail(problem)


class OpenedSchema(Schema):
    code = fields.String()
    status = fields.String(metadata={"description": "the offer's state after this receipt"})


@blp.route("/offers/<string:code>/opened")
class OfferOpened(MethodView):
    @require_scope("enroll")
    @blp.response(200, OpenedSchema)
    def post(self, code: str) -> dict[str, Any]:
        """The shopper opened the offer in the retailer's app (a read receipt; idempotent).

        Scope `enroll`: it comes from the app back end, not from a till.
        """
        h = hub()
        try:
            status, offer_id = ops.mark_opened(h.db, code, h.clock.now())
        except ops.OfferProblem as problem:
            _fail(problem)
        h.show_offer(offer_id)
        return {"code": code, "status": status}


@blp.route("/redemptions")
class Redemptions(MethodView):
    @require_scope("pos")
    @blp.arguments(RedemptionCreateSchema)
    @blp.response(201, RedemptionSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Redeem a code for an order, exactly once.

        Needs an `Idempotency-Key` header: a retry with the same key gets the same answer and
        never a second redemption.
        """
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not 1 <= len(key) <= _MAX_KEY:
            abort(
                400,
                message=f"send an Idempotency-Key header (1-{_MAX_KEY} characters), e.g. a UUID",
                error_code="idempotency_key_required",
            )
        _this_store(body["store_id"])
        h = hub()
        request_ = ops.RedemptionRequest(body["code"], body["store_id"], body["order_ref"], key)
        try:
            answer, offer_id = ops.redeem(h.db, request_, h.clock.now())
        except ops.OfferProblem as problem:
            _fail(problem)
        h.show_offer(offer_id)
        return answer


@blp.route("/redemptions/<string:redemption_id>/void")
class RedemptionVoid(MethodView):
    @require_scope("pos")
    @blp.response(200, RedemptionSchema)
    def post(self, redemption_id: str) -> dict[str, Any]:
        """Undo a redemption, once (a second void is 409); the offer is voided for good."""
        h = hub()
        try:
            answer, offer_id = ops.void(h.db, redemption_id, h.config.store_id, h.clock.now())
        except ops.OfferProblem as problem:
            _fail(problem)
        h.show_offer(offer_id)
        return answer
