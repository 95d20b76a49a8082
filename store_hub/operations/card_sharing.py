"""A shopper's card-sharing choices, stored on their device, and the cards they shape."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_hub.adapters.db.models import Device, Visit
from store_hub.domain.card_privacy import CardSharing, private_card
from store_hub.operations.enrollment import active_device


def sharing_of(device: Device) -> CardSharing:
    """What the device's shopper lets associates see."""
    return CardSharing(
        sizes=device.share_sizes,
        wishlist_and_cart=device.share_wishlist_and_cart,
        purchase_history=device.share_purchase_history,
        contact=device.share_contact,
    )


def sharing_of_visit(session: Session, visit: Visit) -> CardSharing:
    """The sharing of the device a visit was made with; nothing shared if it is gone."""
    device = session.get(Device, visit.device_id)
    if device is None:
        return CardSharing(False, False, False, False)
    return sharing_of(device)


def customer_sharing(session: Session, customer_id: str) -> CardSharing | None:
    """What a customer lets associates see when they are not in the store (a look-up card).

    A customer may have several phones with different choices: only what every phone that
    allows associate view shares is shown. None when no active phone allows associate view.
    """
    devices = list(
        session.scalars(
            select(Device).where(
                Device.customer_id == customer_id,
                Device.revoked_at.is_(None),
                Device.consent_associate_view.is_(True),
            )
        )
    )
    if not devices:
        return None
    choices = [sharing_of(device) for device in devices]
    return CardSharing(
        sizes=all(c.sizes for c in choices),
        wishlist_and_cart=all(c.wishlist_and_cart for c in choices),
        purchase_history=all(c.purchase_history for c in choices),
        contact=all(c.contact for c in choices),
    )


def set_card_sharing(
    session: Session, device_id: str, sharing: CardSharing
) -> list[tuple[str, dict[str, Any]]]:
    """Store the device's new choices and clear its visits' cards at once.

    Returns (store_id, card) for each open visit's card, to push to the tablets. Departed
    visits' cards are cleared too: a shopper back within the re-entry window gets their stored
    card again. A part shared again shows when the online profile is next fetched.
    """
    device = active_device(session, device_id)
    device.share_sizes = sharing.sizes
    device.share_wishlist_and_cart = sharing.wishlist_and_cart
    device.share_purchase_history = sharing.purchase_history
    device.share_contact = sharing.contact
    changed: list[tuple[str, dict[str, Any]]] = []
    visits = session.scalars(
        select(Visit).where(Visit.device_id == device_id, Visit.card.is_not(None)).with_for_update()
    )
    for visit in visits:
        if visit.card is None:
            continue  # a JSON null, which the SQL test above lets through
        card = private_card(visit.card, sharing)
        visit.card = card
        if visit.departed_at is None:
            changed.append((visit.store_id, card))
    return changed
