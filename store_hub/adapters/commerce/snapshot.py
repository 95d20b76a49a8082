"""What the hub knows about a shopper from their online store, and the connector protocol.

A connector turns one platform's API into a `CustomerSnapshot`: immutable, typed, and honest
about what it could not fetch. The tablet card is derived from it in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from beacon_agent.protocol import format_timestamp

Part = Literal["profile", "wishlist", "cart", "orders"]
PARTS: tuple[Part, ...] = ("profile", "wishlist", "cart", "orders")
ProblemKind = Literal[
    "timeout", "unreachable", "unauthorized", "not_found", "http_error", "malformed"
]
# The tablet shows recent history only; a connector never needs to fetch more than this.
MAX_ORDERS = 10


@dataclass(frozen=True)
class Profile:
    """The customer's account as the online store keeps it."""

    customer_id: str
    first_name: str
    last_name: str
    email: str | None
    loyalty_tier: str | None
    lifetime_value: Decimal
    currency: str
    sizes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WishlistItem:
    """A variant the customer saved online."""

    sku: str
    name: str
    size: str | None
    colour: str | None
    price: Decimal
    currency: str
    image_url: str | None


@dataclass(frozen=True)
class CartLine:
    """A line of the customer's abandoned cart."""

    sku: str
    name: str
    size: str | None
    colour: str | None
    quantity: int
    unit_price: Decimal
    currency: str
    image_url: str | None


@dataclass(frozen=True)
class Cart:
    """The customer's most recent abandoned cart."""

    items: tuple[CartLine, ...]
    total: Decimal
    currency: str
    updated_at: datetime


@dataclass(frozen=True)
class OrderSummary:
    """One past order, as much as the card shows."""

    order_id: str
    placed_at: datetime
    total: Decimal
    currency: str


@dataclass(frozen=True)
class Problem:
    """One part of the snapshot that could not be fetched, and why."""

    part: Part
    kind: ProblemKind
    detail: str


@dataclass(frozen=True, kw_only=True)
class CustomerSnapshot:
    """A shopper's online data at `fetched_at`; `partial`/`unavailable` say what is missing."""

    customer_id: str
    status: Literal["ok", "partial", "unavailable"]
    fetched_at: datetime
    profile: Profile | None = None
    wishlist: tuple[WishlistItem, ...] = ()
    cart: Cart | None = None
    orders: tuple[OrderSummary, ...] = ()
    problems: tuple[Problem, ...] = ()

    def to_card_dict(self) -> dict[str, Any]:
        """The online part of the tablet card: money as decimal strings, times RFC 3339 UTC."""
        profile = self.profile
        cart = self.cart
        return {
            "profile_status": self.status,
            "profile": None
            if profile is None
            else {
                "first_name": profile.first_name,
                "last_name": profile.last_name,
                "email": profile.email,
                "loyalty_tier": profile.loyalty_tier,
                "lifetime_value": str(profile.lifetime_value),
                "currency": profile.currency,
                "sizes": dict(profile.sizes),
            },
            "wishlist": [
                {
                    "sku": i.sku,
                    "name": i.name,
                    "size": i.size,
                    "colour": i.colour,
                    "price": str(i.price),
                    "currency": i.currency,
                    "image_url": i.image_url,
                }
                for i in self.wishlist
            ],
            "cart": None
            if cart is None
            else {
                "items": [
                    {
                        "sku": i.sku,
                        "name": i.name,
                        "size": i.size,
                        "colour": i.colour,
                        "quantity": i.quantity,
                        "unit_price": str(i.unit_price),
                        "currency": i.currency,
                        "image_url": i.image_url,
                    }
                    for i in cart.items
                ],
                "total": str(cart.total),
                "currency": cart.currency,
                "updated_at": format_timestamp(cart.updated_at),
            },
            "orders": [
                {
                    "order_id": o.order_id,
                    "placed_at": format_timestamp(o.placed_at),
                    "total": str(o.total),
                    "currency": o.currency,
                }
                for o in sorted(self.orders, key=lambda o: o.placed_at, reverse=True)[:MAX_ORDERS]
            ],
        }


class CommerceConnector(Protocol):
    """An online store as the hub sees it; implementations never raise for the store's faults."""

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        """Everything the tablet shows about `customer_id`, degraded rather than late or raised."""
        ...
