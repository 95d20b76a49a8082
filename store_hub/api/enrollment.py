"""Enrollment API for the retailer's app back end (contract section 3)."""

from __future__ import annotations

import base64
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db.repositories import enrolled
from store_hub.api.auth import require_scope
from store_hub.api.context import hub
from store_hub.domain.card_privacy import CardSharing
from store_hub.domain.identity import EnrolledDevice
from store_hub.operations import card_sharing, erasure
from store_hub.operations import enrollment as ops

blp = Blueprint(
    "enrollment", __name__, url_prefix="/api/v1", description="Device enrollment and push"
)

_B64URL = validate.Regexp(r"^[A-Za-z0-9_-]+={0,2}$", error="must be base64url")


class ConsentsSchema(Schema):
    presence = fields.Boolean(required=True)
    offers = fields.Boolean(required=True)
    associate_view = fields.Boolean(required=True)


_SHARED = {
    "sizes": "clothing and shoe sizes, style preferences",
    "wishlist_and_cart": "online wishlist and cart (and which of it is in stock here)",
    "purchase_history": "orders online and in store, lifetime value, segments from purchases",
    "contact": "email and phone (also needs the online store's marketing opt-in)",
}


def _sharing_field(name: str, required: bool) -> fields.Boolean:
    default: dict[str, Any] = {} if required else {"load_default": True}
    return fields.Boolean(required=required, metadata={"description": _SHARED[name]}, **default)


class CardSharingSchema(Schema):
    """What associates may see of the shopper's card; each part shared unless set to false."""

    sizes = _sharing_field("sizes", False)
    wishlist_and_cart = _sharing_field("wishlist_and_cart", False)
    purchase_history = _sharing_field("purchase_history", False)
    contact = _sharing_field("contact", False)


class CardSharingUpdateSchema(Schema):
    """The shopper's whole choice again: a part left out must not silently become shared."""

    sizes = _sharing_field("sizes", True)
    wishlist_and_cart = _sharing_field("wishlist_and_cart", True)
    purchase_history = _sharing_field("purchase_history", True)
    contact = _sharing_field("contact", True)


class CardSharingChangedSchema(Schema):
    device_id = fields.String()
    card_sharing = fields.Nested(CardSharingSchema)
    cards_updated = fields.Integer(
        metadata={"description": "cards of the shopper's open visits cleared at once"}
    )


class DeviceCreateSchema(Schema):
    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    consents = fields.Nested(ConsentsSchema, required=True)
    card_sharing = fields.Nested(CardSharingSchema, load_default=None)
    rotation_exponent = fields.Integer(load_default=None, validate=validate.Range(0, 15))


class DeviceSchema(Schema):
    device_id = fields.String()
    customer_id = fields.String()
    identity_key = fields.String(metadata={"description": "16-byte EID identity key, base64"})
    rotation_exponent = fields.Integer()
    consents = fields.Nested(ConsentsSchema)
    card_sharing = fields.Nested(CardSharingSchema)
    created_at = fields.DateTime()


class PushKeysSchema(Schema):
    p256dh = fields.String(required=True, validate=[validate.Length(min=80, max=100), _B64URL])
    auth = fields.String(required=True, validate=[validate.Length(min=16, max=32), _B64URL])


class PushRegistrationSchema(Schema):
    endpoint = fields.Url(schemes={"https", "http"}, load_default=None)
    keys = fields.Nested(PushKeysSchema, load_default=None)
    fcm_token = fields.String(load_default=None, validate=validate.Length(min=10, max=4096))
    # Browsers' PushSubscription.toJSON() includes it (usually null); accepted, not needed.
    expiration_time = fields.Integer(data_key="expirationTime", load_default=None, allow_none=True)

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **_: Any) -> None:
        web = data["endpoint"] is not None or data["keys"] is not None
        if web and data["fcm_token"] is not None:
            raise ValidationError("send either a Web Push subscription or an fcm_token, not both")
        if web and (data["endpoint"] is None or data["keys"] is None):
            raise ValidationError("a Web Push subscription needs both endpoint and keys")
        if not web and data["fcm_token"] is None:
            raise ValidationError("send a Web Push subscription (endpoint, keys) or an fcm_token")


class PushRegisteredSchema(Schema):
    device_id = fields.String()
    kind = fields.String()


class ErasureSchema(Schema):
    customer_id = fields.String()
    erased = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "rows deleted or unlinked, by table"},
    )


class VapidPublicKeySchema(Schema):
    application_server_key = fields.String(
        metadata={"description": "base64url P-256 public key for pushManager.subscribe()"}
    )


@blp.route("/devices")
class Devices(MethodView):
    @require_scope("enroll")
    @blp.arguments(DeviceCreateSchema)
    @blp.response(201, DeviceSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Enroll a shopper's device and hand its EID identity key to the app."""
        h = hub()
        now = h.clock.now()
        consents = ops.Consents(**body["consents"])
        sharing = CardSharing(**(body["card_sharing"] or {}))
        with h.db.transaction() as session:
            device = ops.enroll_device(
                session,
                body["customer_id"],
                consents,
                body["rotation_exponent"] or h.config.rotation_exponent,
                now,
                sharing=sharing,
            )
            enrolled_device = enrolled(device)
        h.presence.device_changed(enrolled_device, now)
        return {
            "device_id": device.id,
            "customer_id": device.customer_id,
            "identity_key": base64.b64encode(device.identity_key).decode(),
            "rotation_exponent": device.rotation_exponent,
            "consents": consents.__dict__,
            "card_sharing": sharing.as_dict(),
            "created_at": device.created_at,
        }


@blp.route("/devices/<string:device_id>")
class DeviceItem(MethodView):
    @require_scope("enroll")
    @blp.response(204)
    def delete(self, device_id: str) -> None:
        """Revoke a device at once: its tokens stop resolving on the next report."""
        h = hub()
        now = h.clock.now()
        try:
            with h.db.transaction() as session:
                revoked = ops.revoke_device(session, device_id, now)
        except ops.UnknownDevice:
            abort(404, message=f"no active device {device_id}")
        h.presence.device_changed(revoked, now)


@blp.route("/devices/<string:device_id>/card-sharing")
class DeviceCardSharing(MethodView):
    @require_scope("enroll")
    @blp.arguments(CardSharingUpdateSchema)
    @blp.response(200, CardSharingChangedSchema)
    def put(self, body: dict[str, Any], device_id: str) -> dict[str, Any]:
        """Change what associates may see of the shopper's card.

        A part withdrawn leaves the cards of the shopper's open visits at once, on every
        tablet; a part shared again shows from the next profile refresh or visit.
        """
        h = hub()
        sharing = CardSharing(**body)
        try:
            with h.db.transaction() as session:
                cards = card_sharing.set_card_sharing(session, device_id, sharing)
        except ops.UnknownDevice:
            abort(404, message=f"no active device {device_id}")
        for store_id, card in cards:
            h.broadcaster.card_updated(store_id, card)
        return {
            "device_id": device_id,
            "card_sharing": sharing.as_dict(),
            "cards_updated": len(cards),
        }


@blp.route("/devices/<string:device_id>/push")
class DevicePush(MethodView):
    @require_scope("enroll")
    @blp.arguments(PushRegistrationSchema)
    @blp.response(200, PushRegisteredSchema)
    def put(self, body: dict[str, Any], device_id: str) -> dict[str, Any]:
        """Register where offers for this device are pushed (Web Push or FCM)."""
        h = hub()
        now = h.clock.now()
        try:
            with h.db.transaction() as session:
                if body["fcm_token"] is not None:
                    subscription = ops.set_fcm_token(session, device_id, body["fcm_token"], now)
                else:
                    keys = body["keys"]
                    subscription = ops.set_web_push(
                        session, device_id, body["endpoint"], keys["p256dh"], keys["auth"], now
                    )
                kind = subscription.kind
        except ops.UnknownDevice:
            abort(404, message=f"no active device {device_id}")
        return {"device_id": device_id, "kind": kind}


@blp.route("/push/vapid-public-key")
class VapidPublicKey(MethodView):
    @blp.response(200, VapidPublicKeySchema)
    def get(self) -> dict[str, Any]:
        """The hub's VAPID public key, which the app subscribes to Web Push with.

        Public on purpose: it is a public key, and the shopper's browser needs it before the
        app back end is involved.
        """
        return {"application_server_key": hub().vapid.application_server_key}


@blp.route("/customers/<string:customer_id>/erase")
class CustomerErasure(MethodView):
    @require_scope("enroll")
    @blp.response(200, ErasureSchema)
    def post(self, customer_id: str) -> dict[str, Any]:
        """Erase everything the hub holds about a customer, in every table and cache.

        Idempotent: erasing a customer the hub does not know answers with zero counts.
        """
        if not 1 <= len(customer_id) <= 64 or customer_id == erasure.ERASED:
            abort(422, message="customer_id must be 1-64 characters and not a placeholder")
        h = hub()
        with h.db.transaction() as session:
            report = erasure.erase_customer(session, customer_id)
        now = h.clock.now()
        for device_id in report.device_ids:
            # Without consent a device leaves the EID table: its tokens stop resolving now.
            h.presence.device_changed(EnrolledDevice(device_id, bytes(16), 0, False), now)
        for visit in report.open_visits:
            h.broadcaster.departed(
                visit.store_id,
                {
                    "visit_id": visit.visit_id,
                    "customer_id": customer_id,
                    "departed_at": format_timestamp(now),
                },
            )
        erase_cached = getattr(h.commerce, "erase", None)
        if callable(erase_cached):
            erase_cached(customer_id)
        return {"customer_id": customer_id, "erased": report.rows}
