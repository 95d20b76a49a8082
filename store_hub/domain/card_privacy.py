"""What associates may see of a shopper: the card without the parts the shopper did not share.

Pure and idempotent: the hub applies `private_card` wherever a card is finalised (arrival,
profile refresh, a change of sharing) so what is stored with the visit, and therefore every
broadcast and floor snapshot made from it, never holds what the shopper kept back. The card
says what was left out, and why, in `hidden`, so the tablet can tell "hidden" from "none".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from store_hub.domain.segments import VIP_TIERS

SIZES = "sizes"
WISHLIST_AND_CART = "wishlist_and_cart"
PURCHASE_HISTORY = "purchase_history"
CONTACT = "contact"
SHARING_FIELDS = (SIZES, WISHLIST_AND_CART, PURCHASE_HISTORY, CONTACT)

NOT_SHARED = "Not shared by the customer"
NO_CONTACT_CONSENT = "No contact consent in the online store"

# Profile keys that hold a way to reach the customer, with the online store's marketing
# channel that must be opted in for an associate to see it.
CONTACT_CHANNELS = {"email": "email", "phone": "sms"}

# Segments are summaries of the data they come from: "Lapsing" says when the customer last
# bought as surely as the history does, so a segment goes with its source.
SEGMENT_SOURCES = {
    "vip": PURCHASE_HISTORY,
    "new": PURCHASE_HISTORY,
    "lapsing": PURCHASE_HISTORY,
    "frequent": PURCHASE_HISTORY,
    "high_cart_value": WISHLIST_AND_CART,
}


@dataclass(frozen=True)
class CardSharing:
    """The parts of their card a shopper lets associates see; all of it unless they say not."""

    sizes: bool = True
    wishlist_and_cart: bool = True
    purchase_history: bool = True
    contact: bool = True

    def as_dict(self) -> dict[str, bool]:
        """The wire form: one boolean per field of SHARING_FIELDS."""
        return asdict(self)

    def shares(self, field: str) -> bool:
        """Whether `field` (one of SHARING_FIELDS) is shared."""
        return bool(getattr(self, field))


def hidden_entry(field: str, reason: str) -> dict[str, str]:
    """One line of the card's `hidden` list."""
    return {"field": field, "reason": reason}


def _unconsented_contacts(profile: Mapping[str, Any]) -> list[str]:
    consents = profile.get("marketing_consents")
    opted_in = consents if isinstance(consents, Mapping) else {}
    # Only an explicit opt-in shows a channel: an unknown consent is not a yes. The key, not
    # its value, decides, so a card already cleared says the same the second time round.
    return [
        key
        for key, channel in CONTACT_CHANNELS.items()
        if key in profile and opted_in.get(channel) is not True
    ]


def _segment_kept(segment: Any, sharing: CardSharing, tier: str) -> bool:
    source = SEGMENT_SOURCES.get(str(segment))
    if source is None or sharing.shares(source):
        return True
    # A VIP by loyalty tier is a VIP without any history, and the tier badge shows it anyway.
    return segment == "vip" and tier in VIP_TIERS


def private_card(card: Mapping[str, Any], sharing: CardSharing) -> dict[str, Any]:
    """`card` without what `sharing` keeps from associates, listing what went and why.

    Wishlist and cart go with their stock counts (in_stock_here_count would reveal a hidden
    wishlist); purchase history takes online orders, the merged history, the lifetime value
    and the segments computed from purchases; sizes take style preferences too.
    """
    out = dict(card)
    hidden: list[dict[str, str]] = []
    profile = dict(card["profile"]) if isinstance(card.get("profile"), Mapping) else None
    tier = str((profile or {}).get("loyalty_tier") or "").strip().lower()

    if not sharing.sizes:
        hidden.append(hidden_entry(SIZES, NOT_SHARED))
        if profile is not None:
            profile.pop("sizes", None)
            profile.pop("preferences", None)
    if not sharing.wishlist_and_cart:
        hidden.append(hidden_entry(WISHLIST_AND_CART, NOT_SHARED))
        out["wishlist"] = []
        out["cart"] = None
        out.pop("in_stock_here_count", None)
    if not sharing.purchase_history:
        hidden.append(hidden_entry(PURCHASE_HISTORY, NOT_SHARED))
        out["orders"] = []
        out["history"] = []
        if profile is not None:
            profile.pop("lifetime_value", None)
    if "segments" in out:
        segments = out["segments"] if isinstance(out["segments"], list) else []
        out["segments"] = [s for s in segments if _segment_kept(s, sharing, tier)]
    if not sharing.contact:
        hidden.append(hidden_entry(CONTACT, NOT_SHARED))
        dropped = list(CONTACT_CHANNELS)
    else:
        dropped = _unconsented_contacts(profile or {})
        if dropped:
            hidden.append(hidden_entry(CONTACT, NO_CONTACT_CONSENT))
    for key in dropped:
        if profile is not None and key in profile:
            profile[key] = None

    if profile is not None:
        out["profile"] = profile
    out["hidden"] = hidden
    return out
