"""Demo-only routes behind the shopper wallet page: what the retailer's app back end would do.

The page stands in for the retailer's app, so it never holds the enroll API key nor the device's
identity key: these routes call the enrollment operations directly and remember the enrolled
device in the browser's signed session cookie. Registered by `store-hub demo` (and tests) only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request, session
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db.models import Device, Offer
from store_hub.adapters.db.repositories import enrolled
from store_hub.api.context import hub
from store_hub.api.enrollment import (
    CardSharingSchema,
    CardSharingUpdateSchema,
    ConsentsSchema,
    PushRegistrationSchema,
)
from store_hub.domain.card_privacy import CardSharing
from store_hub.domain.eid import COUNTER_MODULUS, compute_eid, eid_token, ibeacon_token
from store_hub.operations import card_sharing
from store_hub.operations import enrollment as ops

# The door agent hearing a phone: called with the device's identity key and rotation exponent.
WalkIn = Callable[[bytes, int], None]
WALK_IN_EXTENSION = "demo_walk_in"
SESSION_DEVICE = "wallet_device_id"

bp = Blueprint("wallet_api", __name__, url_prefix="/wallet/api")


class EnrollSchema(Schema):
    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    consents = fields.Nested(ConsentsSchema, required=True)
    card_sharing = fields.Nested(CardSharingSchema, load_default=None)


def register_wallet(app: Flask, walk_in: WalkIn | None = None) -> None:
    """Add the wallet page and its demo routes to a hub's app; `walk_in` feeds the door agent."""
    from clienteling_ui.wallet import bp as page_bp

    app.register_blueprint(page_bp)
    app.register_blueprint(bp)
    app.extensions[WALK_IN_EXTENSION] = walk_in


def _problem(status: int, code: str, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"code": code, "message": message}}), status


def _same_origin() -> bool:
    # The session cookie is SameSite=Lax; refusing foreign origins covers what Lax lets through.
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


def _device() -> Device | None:
    device_id = session.get(SESSION_DEVICE)
    if not isinstance(device_id, str):
        return None
    with hub().db.transaction() as db_session:
        try:
            device = ops.active_device(db_session, device_id)
        except ops.UnknownDevice:
            return None
        db_session.expunge(device)
        return device


def _device_view(device: Device) -> dict[str, Any]:
    return {
        "device_id": device.id,
        "customer_id": device.customer_id,
        "consents": {
            "presence": device.consent_presence,
            "offers": device.consent_offers,
            "associate_view": device.consent_associate_view,
        },
        "card_sharing": card_sharing.sharing_of(device).as_dict(),
        "rotation_exponent": device.rotation_exponent,
    }


@bp.before_request
def _guard() -> ResponseReturnValue | None:
    if request.method != "GET" and not _same_origin():
        return _problem(403, "forbidden", "cross-origin request refused")
    return None


@bp.post("/enroll")
def enroll() -> ResponseReturnValue:
    """Enroll this browser's 'phone' with the consents the shopper gave."""
    try:
        body = EnrollSchema().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        return _problem(422, "invalid", str(exc.messages))
    h = hub()
    now = h.clock.now()
    with h.db.transaction() as db_session:
        device = ops.enroll_device(
            db_session,
            body["customer_id"],
            ops.Consents(**body["consents"]),
            h.config.rotation_exponent,
            now,
            sharing=CardSharing(**(body["card_sharing"] or {})),
        )
        view, identity = _device_view(device), enrolled(device)
    h.presence.device_changed(identity, now)
    session[SESSION_DEVICE] = view["device_id"]
    return jsonify(view), 201


@bp.get("/me")
def me() -> ResponseReturnValue:
    """The device enrolled from this browser, or 404."""
    device = _device()
    if device is None:
        return _problem(404, "not_enrolled", "this wallet has not enrolled a device yet")
    return jsonify(_device_view(device))


@bp.put("/card-sharing")
def change_card_sharing() -> ResponseReturnValue:
    """Change what staff may see, as the app back end would (PUT /devices/{id}/card-sharing)."""
    device = _device()
    if device is None:
        return _problem(404, "not_enrolled", "enroll first")
    try:
        body = CardSharingUpdateSchema().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        return _problem(422, "invalid", str(exc.messages))
    h = hub()
    with h.db.transaction() as db_session:
        cards = card_sharing.set_card_sharing(db_session, device.id, CardSharing(**body))
        view = _device_view(ops.active_device(db_session, device.id))
    for store_id, card in cards:
        h.broadcaster.card_updated(store_id, card)
    return jsonify(view)


@bp.get("/token")
def token() -> ResponseReturnValue:
    """The EID the phone advertises now, computed as the app would from the device's key."""
    device = _device()
    if device is None:
        return _problem(404, "not_enrolled", "enroll first")
    now = hub().clock.now()
    counter = int(now.timestamp()) % COUNTER_MODULUS
    period = 1 << device.rotation_exponent
    window_start = counter - counter % period
    eid = compute_eid(device.identity_key, device.rotation_exponent, counter)
    return jsonify(
        {
            "token": eid_token(eid),
            "ibeacon": ibeacon_token(eid),
            "rotation_s": period,
            "now": format_timestamp(now),
            "seconds_to_rotation": window_start + period - counter,
        }
    )


@bp.post("/walk-in")
def walk_in() -> ResponseReturnValue:
    """Carry the phone into the store: the demo's door agent starts hearing its EID."""
    device = _device()
    if device is None:
        return _problem(404, "not_enrolled", "enroll first")
    feed: WalkIn | None = current_app.extensions.get(WALK_IN_EXTENSION)
    if feed is None:
        return _problem(503, "no_door", "this hub has no simulated door agent")
    feed(device.identity_key, device.rotation_exponent)
    return jsonify({"walking_in": True}), 202


@bp.put("/push")
def push() -> ResponseReturnValue:
    """Register the browser's Web Push subscription for the device, as the app back end would."""
    device = _device()
    if device is None:
        return _problem(404, "not_enrolled", "enroll first")
    try:
        body = PushRegistrationSchema().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        return _problem(422, "invalid", str(exc.messages))
    if body["endpoint"] is None:
        return _problem(422, "invalid", "send a Web Push subscription")
    h = hub()
    with h.db.transaction() as db_session:
        keys = body["keys"]
        ops.set_web_push(
            db_session, device.id, body["endpoint"], keys["p256dh"], keys["auth"], h.clock.now()
        )
    return jsonify({"device_id": device.id, "kind": "web_push"})


@bp.get("/offers")
def offers() -> ResponseReturnValue:
    """The offers sent to this device, newest first, with their signed QR tokens."""
    device = _device()
    if device is None:
        return _problem(404, "not_enrolled", "enroll first")
    with hub().db.transaction() as db_session:
        rows = db_session.scalars(
            select(Offer).where(Offer.device_id == device.id).order_by(Offer.issued_at.desc())
        )
        listed = [
            {
                "offer_id": o.id,
                "code": o.code,
                "title": o.title,
                "description": o.description,
                "status": o.status,
                "expires_at": format_timestamp(o.expires_at),
                "qr_token": o.qr_token,
            }
            for o in rows
        ]
    return jsonify(listed)
