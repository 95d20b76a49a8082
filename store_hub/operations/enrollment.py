"""Enrolling, revoking and registering push for shoppers' devices."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from store_hub.adapters.db.models import Device, PushSubscription
from store_hub.adapters.db.repositories import enrolled
from store_hub.domain.card_privacy import CardSharing
from store_hub.domain.eid import KEY_BYTES
from store_hub.domain.identity import EnrolledDevice


@dataclass(frozen=True)
class Consents:
    """What the shopper agreed to in the retailer's app."""

    presence: bool
    offers: bool
    associate_view: bool


class UnknownDevice(LookupError):
    """No such device, or it was revoked."""


def enroll_device(
    session: Session,
    customer_id: str,
    consents: Consents,
    rotation_exponent: int,
    now: datetime,
    identity_key: bytes | None = None,
    sharing: CardSharing | None = None,
) -> Device:
    """A new device with a fresh identity key (only the hub and the phone ever hold it).

    `sharing` is what associates may see of the card; apps that do not ask share all of it,
    as they did before the choice existed (associate_view alone still hides everything).
    """
    sharing = sharing or CardSharing()
    device = Device(
        id=uuid.uuid4().hex,
        customer_id=customer_id,
        identity_key=identity_key or secrets.token_bytes(KEY_BYTES),
        rotation_exponent=rotation_exponent,
        consent_presence=consents.presence,
        consent_offers=consents.offers,
        consent_associate_view=consents.associate_view,
        share_sizes=sharing.sizes,
        share_wishlist_and_cart=sharing.wishlist_and_cart,
        share_purchase_history=sharing.purchase_history,
        share_contact=sharing.contact,
        created_at=now,
        revoked_at=None,
    )
    session.add(device)
    session.flush()
    return device


def active_device(session: Session, device_id: str) -> Device:
    """The device, unless unknown or revoked."""
    device = session.get(Device, device_id)
    if device is None or device.revoked_at is not None:
        raise UnknownDevice(device_id)
    return device


def revoke_device(session: Session, device_id: str, now: datetime) -> EnrolledDevice:
    """Revoke at once: it stops resolving and its push subscription is deleted."""
    device = active_device(session, device_id)
    device.revoked_at = now
    subscription = session.get(PushSubscription, device_id)
    if subscription is not None:
        session.delete(subscription)
    return enrolled(device)


def set_web_push(
    session: Session, device_id: str, endpoint: str, p256dh: str, auth: str, now: datetime
) -> PushSubscription:
    """Register (or replace) the device's Web Push subscription."""
    return _upsert(
        session,
        device_id,
        now,
        kind="webpush",
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        fcm_token=None,
    )


def set_fcm_token(session: Session, device_id: str, token: str, now: datetime) -> PushSubscription:
    """Register (or replace) the device's FCM registration token."""
    return _upsert(
        session, device_id, now, kind="fcm", endpoint=None, p256dh=None, auth=None, fcm_token=token
    )


def _upsert(
    session: Session,
    device_id: str,
    now: datetime,
    *,
    kind: str,
    endpoint: str | None,
    p256dh: str | None,
    auth: str | None,
    fcm_token: str | None,
) -> PushSubscription:
    active_device(session, device_id)
    subscription = session.get(PushSubscription, device_id)
    if subscription is None:
        subscription = PushSubscription(device_id=device_id)
        session.add(subscription)
    subscription.kind = kind
    subscription.endpoint = endpoint
    subscription.p256dh = p256dh
    subscription.auth = auth
    subscription.fcm_token = fcm_token
    subscription.updated_at = now
    return subscription
