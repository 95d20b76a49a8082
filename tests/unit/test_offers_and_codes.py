from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from store_hub.domain.codes import new_code, normalise_code
from store_hub.domain.offers import (
    ArrivalRule,
    NoOffer,
    OfferItem,
    OfferTerms,
    decide_arrival_offer,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
RULE = ArrivalRule(percent_off=10, validity=timedelta(hours=2))
CART = [
    OfferItem("SKU-1", "Linen shirt", Decimal("49.90"), "EUR", "cart"),
    OfferItem("SKU-2", "Wool coat", Decimal("219.99"), "EUR", "cart"),
]
WISH = [OfferItem("SKU-3", "Trail shoe", Decimal("129.00"), "EUR", "wishlist")]


def test_dearest_cart_item_wins_and_money_is_exact() -> None:
    terms = decide_arrival_offer(RULE, CART + WISH, True, False, NOW)
    assert isinstance(terms, OfferTerms)
    assert terms.sku == "SKU-2"
    assert terms.discount == Decimal("22.00")
    assert terms.expires_at == NOW + timedelta(hours=2)
    assert terms.title == "10% off Wool coat"


def test_wishlist_when_no_cart() -> None:
    terms = decide_arrival_offer(RULE, WISH, True, False, NOW)
    assert isinstance(terms, OfferTerms)
    assert terms.sku == "SKU-3"
    assert terms.discount == Decimal("12.90")


@pytest.mark.parametrize(
    ("items", "consent", "offered", "reason"),
    [
        (CART, False, False, "no_offers_consent"),
        (CART, True, True, "already_offered_this_visit"),
        ([], True, False, "nothing_of_interest"),
    ],
)
def test_no_offer_says_why(
    items: list[OfferItem], consent: bool, offered: bool, reason: str
) -> None:
    assert decide_arrival_offer(RULE, items, consent, offered, NOW) == NoOffer(RULE.rule_id, reason)


def test_codes_are_random_readable_and_normalise() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", c) for c in codes)
    code = next(iter(codes))
    assert normalise_code(code.lower().replace("-", " ")) == code
    assert normalise_code("7k2qx-m9d4t") == "7K2QX-M9D4T"
    assert normalise_code("o0000-11111".replace("1", "l")) == "00000-11111"
    with pytest.raises(ValueError, match="10 letters"):
        normalise_code("short")
