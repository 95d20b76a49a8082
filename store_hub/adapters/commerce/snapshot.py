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
    "timeout",
    "unreachable",
    "unauthorized",
    "not_found",
    "http_error",
    "malformed",
    # The platform's rate limit left no room within the deadline (Shopify's THROTTLED, 429).
    "throttled",
    # The hub's circuit breaker is open: the store was not called at all.
    "circuit_open",
]
# Why a snapshot is served from the hub's cache past its freshness: a refresh is under way, or
# the store failed just now (the tablet says "online profile unavailable, showing cached data").
StaleReason = Literal["refreshing", "store_unavailable"]
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
    # e.g. (("categories", ("knitwear",)), ("colours", ("Navy",)))
    preferences: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Channel -> opted in to marketing, as the online store records it, e.g. (("email", True),)
    marketing_consents: tuple[tuple[str, bool], ...] = ()


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
    """A shopper's online data at `fetched_at`; `partial`/`unavailable` say what is missing.

    `stale_reason` is set when the data come from the hub's cache past its freshness; the card
    then carries `profile_cached_at` and `profile_cache_reason` as well.
    """

    customer_id: str
    status: Literal["ok", "partial", "unavailable"]
    fetched_at: datetime
    profile: Profile | None = None
    wishlist: tuple[WishlistItem, ...] = ()
    cart: Cart | None = None
    orders: tuple[OrderSummary, ...] = ()
    problems: tuple[Problem, ...] = ()
    # Set only by the fetching policy (cache.py) when these data are older than its TTL.
    stale_reason: StaleReason | None = None
    # Why the latest attempt to refresh stale data failed; empty while merely refreshing.
    refresh_problems: tuple[Problem, ...] = ()

    @property
    def stale(self) -> bool:
        """True when these are cached data as of `fetched_at`, older than the cache's TTL."""
        return self.stale_reason is not None

    def to_card_dict(self) -> dict[str, Any]:
        """The online part of the tablet card: money as decimal strings, times RFC 3339 UTC."""
        profile = self.profile
        cart = self.cart
        card: dict[str, Any] = {
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
                "preferences": {kind: list(values) for kind, values in profile.preferences},
                "marketing_consents": dict(profile.marketing_consents),
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
        if self.stale_reason is not None:
            # Only on stale cards, so a live card keeps exactly the keys it always had.
            card["profile_cached_at"] = format_timestamp(self.fetched_at)
            card["profile_cache_reason"] = self.stale_reason
        return card


@dataclass(frozen=True)
class CustomerMatch:
    """One customer a search found: enough to recognise them, not their whole profile."""

    customer_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    loyalty_tier: str | None


# "refused": the query itself was not acceptable (too short, say); the store was not asked.
SearchStatus = Literal["ok", "refused", "unavailable"]
SearchProblemKind = ProblemKind | Literal["invalid_query"]
# Most matches a connector asks the store for in one search.
MAX_SEARCH_LIMIT = 100


@dataclass(frozen=True)
class SearchProblem:
    """Why a search has no answer."""

    kind: SearchProblemKind
    detail: str


@dataclass(frozen=True, kw_only=True)
class CustomerSearch:
    """The answer to a search by name, email or phone; `more` when the store had further matches."""

    query: str
    status: SearchStatus
    matches: tuple[CustomerMatch, ...] = ()
    more: bool = False
    problem: SearchProblem | None = None


def search_refused(query: str, kind: SearchProblemKind, detail: str) -> CustomerSearch:
    """A search that was not run, and why."""
    return CustomerSearch(query=query, status="refused", problem=SearchProblem(kind, detail))


def search_failed(query: str, kind: SearchProblemKind, detail: str) -> CustomerSearch:
    """A search the store could not answer, and why."""
    return CustomerSearch(query=query, status="unavailable", problem=SearchProblem(kind, detail))


class CommerceConnector(Protocol):
    """An online store as the hub sees it; implementations never raise for the store's faults."""

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        """Everything the tablet shows about `customer_id`, degraded rather than late or raised."""
        ...

    def search_customers(self, query: str, limit: int) -> CustomerSearch:
        """Customers whose name, email or phone match `query`, at most `limit`; never raised."""
        ...
