"""What associates see of a card: each part the shopper did not share is gone, with its reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from store_hub.domain.card_privacy import (
    CONTACT,
    NO_CONTACT_CONSENT,
    NOT_SHARED,
    PURCHASE_HISTORY,
    SIZES,
    WISHLIST_AND_CART,
    CardSharing,
    private_card,
)

STOCK = {"available": 2, "sizes": {"M": 2}, "location": "Womenswear, rail 4"}


def full_card(**changes: Any) -> dict[str, Any]:
    """A finished card as the hub builds it: profile, wishlist, cart, history and segments."""
    card: dict[str, Any] = {
        "visit_id": "v-1",
        "customer_id": "c0001",
        "profile_status": "ok",
        "profile": {
            "first_name": "Amelia",
            "last_name": "Clarke",
            "email": "amelia@example.com",
            "loyalty_tier": "gold",
            "lifetime_value": "3400.00",
            "currency": "GBP",
            "sizes": {"tops": "M", "shoes": "38"},
            "preferences": {"colours": ["Oat"]},
            "marketing_consents": {"email": True, "sms": False},
        },
        "wishlist": [{"sku": "KN-1-OAT-M", "name": "Jumper", "stock_here": STOCK}],
        "cart": {"items": [{"sku": "CT-1-KHA-12", "name": "Coat", "stock_here": STOCK}]},
        "in_stock_here_count": 2,
        "orders": [{"order_id": "o1", "placed_at": "2026-10-01T10:00:00Z", "total": "95.00"}],
        "history": [{"channel": "store", "ref": "R-1", "at": "2026-11-01T10:00:00Z"}],
        "segments": ["vip", "frequent", "high_cart_value"],
        "offer": {"code": "ABCD-1234", "status": "sent"},
        "notes": [{"author": "Priya", "text": "Likes oat", "at": "2026-11-20T10:00:00Z"}],
    }
    card.update(changes)
    return card


def test_everything_shared_changes_nothing_but_says_nothing_is_hidden() -> None:
    card = full_card()
    shown = private_card(card, CardSharing())
    assert shown == {**card, "hidden": []}
    assert "hidden" not in card  # the input is left as it was


def test_hidden_purchase_history_takes_orders_history_value_and_its_segments() -> None:
    shown = private_card(full_card(), CardSharing(purchase_history=False))
    assert shown["orders"] == [] and shown["history"] == []
    assert "lifetime_value" not in shown["profile"]
    # VIP by spend and frequent buyer both tell of purchases; a high cart value does not.
    assert shown["segments"] == ["high_cart_value"]
    assert shown["hidden"] == [{"field": PURCHASE_HISTORY, "reason": NOT_SHARED}]
    # The rest of the card is intact.
    assert shown["wishlist"] and shown["profile"]["sizes"] == {"tops": "M", "shoes": "38"}
    assert shown["notes"] and shown["offer"]["code"] == "ABCD-1234"


def test_a_vip_by_loyalty_tier_stays_vip_without_history() -> None:
    card = full_card()
    card["profile"]["loyalty_tier"] = "Platinum"
    assert private_card(card, CardSharing(purchase_history=False))["segments"] == [
        "vip",
        "high_cart_value",
    ]


def test_hidden_wishlist_and_cart_leave_no_trace_in_stock_counts_or_segments() -> None:
    shown = private_card(full_card(), CardSharing(wishlist_and_cart=False))
    assert shown["wishlist"] == [] and shown["cart"] is None
    assert "in_stock_here_count" not in shown
    assert shown["segments"] == ["vip", "frequent"]
    assert "KN-1-OAT-M" not in json.dumps(shown) and "Coat" not in json.dumps(shown)
    assert shown["hidden"] == [{"field": WISHLIST_AND_CART, "reason": NOT_SHARED}]


def test_hidden_sizes_take_style_preferences_too() -> None:
    shown = private_card(full_card(), CardSharing(sizes=False))
    assert "sizes" not in shown["profile"] and "preferences" not in shown["profile"]
    assert shown["hidden"] == [{"field": SIZES, "reason": NOT_SHARED}]


def test_contact_needs_both_the_sharing_and_the_online_opt_in() -> None:
    not_shared = private_card(full_card(), CardSharing(contact=False))
    assert not_shared["profile"]["email"] is None
    assert not_shared["hidden"] == [{"field": CONTACT, "reason": NOT_SHARED}]

    card = full_card()
    card["profile"]["marketing_consents"] = {"email": False}
    no_opt_in = private_card(card, CardSharing())
    assert no_opt_in["profile"]["email"] is None
    assert no_opt_in["hidden"] == [{"field": CONTACT, "reason": NO_CONTACT_CONSENT}]

    card["profile"]["marketing_consents"] = {}  # unknown is not a yes
    assert private_card(card, CardSharing())["profile"]["email"] is None


@pytest.mark.parametrize(
    "sharing",
    [CardSharing(), CardSharing(False, False, False, False), CardSharing(contact=False)],
)
def test_applying_twice_gives_the_same_card(sharing: CardSharing) -> None:
    card = full_card()
    card["profile"]["marketing_consents"] = {"email": False}
    once = private_card(card, sharing)
    assert private_card(once, sharing) == once


def test_a_pending_card_lists_what_will_stay_hidden_before_the_profile_comes() -> None:
    pending: dict[str, Any] = {
        "visit_id": "v-1",
        "profile": None,
        "wishlist": [],
        "cart": None,
        "orders": [],
    }
    shown = private_card(pending, CardSharing(purchase_history=False, contact=False))
    assert shown["profile"] is None
    assert [entry["field"] for entry in shown["hidden"]] == [PURCHASE_HISTORY, CONTACT]


def test_nothing_shared_lists_every_part_in_a_fixed_order() -> None:
    shown = private_card(full_card(), CardSharing(False, False, False, False))
    assert [entry["field"] for entry in shown["hidden"]] == [
        SIZES,
        WISHLIST_AND_CART,
        PURCHASE_HISTORY,
        CONTACT,
    ]
    assert shown["segments"] == []
    assert shown["profile"]["first_name"] == "Amelia"  # name and tier stay: that is the view
    assert shown["profile"]["loyalty_tier"] == "gold"
