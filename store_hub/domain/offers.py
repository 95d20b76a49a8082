"""The arrival offer rule of the walking skeleton (pure, time injected).

One rule: on arrival, a shopper who consented to offers gets a percentage off the dearest item
left in their abandoned cart, or else off the dearest wishlist item. Every decision, including
"no offer", carries its reason so it can be recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class OfferItem:
    """An item the shopper showed interest in online."""

    sku: str
    name: str
    price: Decimal
    currency: str
    source: Literal["cart", "wishlist"]


@dataclass(frozen=True)
class ArrivalRule:
    """Parameters of the arrival rule."""

    rule_id: str = "arrival-cart-10"
    percent_off: int = 10
    validity: timedelta = timedelta(hours=2)


@dataclass(frozen=True)
class OfferTerms:
    """What the shopper is offered."""

    rule_id: str
    sku: str
    title: str
    description: str
    percent_off: int
    original_price: Decimal
    discount: Decimal
    currency: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class NoOffer:
    """Why no offer was made."""

    rule_id: str
    reason: Literal["no_offers_consent", "nothing_of_interest", "already_offered_this_visit"]


def decide_arrival_offer(
    rule: ArrivalRule,
    items: list[OfferItem],
    offers_consent: bool,
    offered_this_visit: bool,
    now: datetime,
) -> OfferTerms | NoOffer:
    """Decide the arrival offer for one shopper."""
    if not offers_consent:
        return NoOffer(rule.rule_id, "no_offers_consent")
    if offered_this_visit:
        return NoOffer(rule.rule_id, "already_offered_this_visit")
    # Cart before wishlist: an abandoned cart is the strongest signal of intent to buy.
    for source in ("cart", "wishlist"):
        pool = [item for item in items if item.source == source]
        if pool:
            item = max(pool, key=lambda i: (i.price, i.sku))
            discount = (item.price * rule.percent_off / 100).quantize(CENT, ROUND_HALF_UP)
            where = "in your cart" if source == "cart" else "on your wishlist"
            return OfferTerms(
                rule_id=rule.rule_id,
                sku=item.sku,
                title=f"{rule.percent_off}% off {item.name}",
                description=(
                    f"Welcome in! The {item.name} {where} is {rule.percent_off}% off today "
                    f"in this store: show this code at the till."
                ),
                percent_off=rule.percent_off,
                original_price=item.price,
                discount=discount,
                currency=item.currency,
                issued_at=now,
                expires_at=now + rule.validity,
            )
    return NoOffer(rule.rule_id, "nothing_of_interest")
