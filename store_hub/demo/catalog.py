"""The reference online store's data: customers, products, wishlists, carts and orders.

Generated from a fixed seed with small built-in word lists, so every run serves the same shop.
Times are generated as ages and pinned to an `anchor` instant, so a demo's orders look recent
whichever day it runs, while a test that passes the same anchor gets identical data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

DEFAULT_SEED = 20261124
CURRENCY = "GBP"
CUSTOMER_COUNT = 400
PRODUCT_COUNT = 560
DEMO_CUSTOMERS = tuple(f"c{n:04d}" for n in range(1, 13))
# "Most" demo shoppers left a cart online; these two only have wishlists, so the demo also
# shows the wishlist branch of the arrival offer.
DEMO_WITHOUT_CART = frozenset({"c0005", "c0010"})
TIERS = ("bronze", "silver", "gold", "platinum")

FIRST_NAMES = (
    "Amelia", "Jonas", "Olivia", "Noah", "Isla", "Leo", "Freya", "Arthur", "Maya", "Oscar",
    "Sofia", "Luca", "Ava", "Felix", "Ines", "Hugo", "Elena", "Theo", "Nora", "Finn", "Zara",
    "Omar", "Priya", "Kenji", "Chloe", "Mateo", "Hannah", "Samuel", "Aisha", "Daniel", "Lena",
    "Tomasz", "Grace", "Ethan", "Mia", "Ravi", "Ella", "Jack", "Yara", "Ben",
)  # fmt: skip
LAST_NAMES = (
    "Clarke", "Weber", "Patel", "Nowak", "Rossi", "Murphy", "Jones", "Kowalski", "Silva",
    "Andersen", "Dubois", "Khan", "Schmidt", "Taylor", "Moreau", "Walsh", "Fischer", "Evans",
    "Novak", "Costa", "Hughes", "Larsen", "Bianchi", "Ahmed", "Brennan", "Okafor", "Lindqvist",
    "Martin", "Garcia", "Wright", "Tanaka", "Byrne", "Hoffmann", "Price", "Meyer", "Reid",
)  # fmt: skip
# (name, SKU code, CSS colour for the generated product image)
COLOURS = (
    ("Black", "BLK", "#1f1f1f"), ("Navy", "NAV", "#1d2b4f"), ("Ivory", "IVO", "#f3eddc"),
    ("Khaki", "KHA", "#b3a46a"), ("Camel", "CAM", "#c19a6b"), ("Grey", "GRY", "#8a8d91"),
    ("Olive", "OLV", "#6b6b2f"), ("Burgundy", "BRG", "#6d1f2f"), ("White", "WHT", "#fafafa"),
    ("Indigo", "IND", "#2e3a6e"), ("Tan", "TAN", "#c8a27a"), ("Forest", "FOR", "#2f4b36"),
)  # fmt: skip
MATERIALS = (
    "Merino", "Organic cotton", "Linen", "Wool-blend", "Cashmere", "Recycled", "Leather",
    "Relaxed", "Classic", "Cropped", "Belted", "Selvedge", "Brushed", "Washed", "Tailored",
)  # fmt: skip
SIZE_RUNS = {
    "top": ("XS", "S", "M", "L", "XL"),
    "trousers": ("8", "10", "12", "14", "16"),
    "jeans": ("28/30", "30/32", "32/32", "34/32", "36/34"),
    "dress": ("8", "10", "12", "14", "16"),
    "shoes": ("37", "38", "39", "40", "41", "42", "43", "44"),
    "one_size": ("One size",),
}


@dataclass(frozen=True)
class Category:
    """A department: SKU prefix, what it sells, which size run, and its price band in pounds."""

    name: str
    code: str
    nouns: tuple[str, ...]
    size_kind: str
    price_band: tuple[int, int]


CATEGORIES = (
    Category("knitwear", "KN", ("roll-neck jumper", "crew-neck jumper", "cardigan"), "top",
             (49, 189)),
    Category("tops", "TS", ("T-shirt", "oxford shirt", "blouse", "polo shirt"), "top", (19, 79)),
    Category("trousers", "TR", ("wide-leg trousers", "chinos", "pleated trousers"), "trousers",
             (45, 139)),
    Category("denim", "JN", ("straight jeans", "slim jeans", "denim jacket"), "jeans", (55, 149)),
    Category("dresses", "DR", ("midi dress", "wrap dress", "shirt dress"), "dress", (59, 199)),
    Category("outerwear", "CT", ("trench coat", "parka", "quilted jacket", "overcoat"), "top",
             (99, 349)),
    Category("shoes", "SH", ("ankle boots", "trainers", "loafers", "derby shoes"), "shoes",
             (59, 229)),
    Category("accessories", "AC", ("scarf", "belt", "tote bag", "beanie"), "one_size",
             (15, 119)),
)  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """One sellable unit: a product in one colour and one size."""

    sku: str
    product_id: str
    name: str
    category: str
    size: str
    colour: str
    colour_hex: str
    price: Decimal
    image_path: str | None


@dataclass(frozen=True)
class Customer:
    """A registered customer of the online store."""

    customer_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    created_at: datetime
    loyalty_tier: str
    loyalty_points: int
    lifetime_value: Decimal
    sizes: tuple[tuple[str, str], ...]
    favourite_categories: tuple[str, ...]
    favourite_colours: tuple[str, ...]
    consents: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class WishlistEntry:
    """A variant a customer saved for later."""

    sku: str
    added_at: datetime


@dataclass(frozen=True)
class Line:
    """A quantity of one variant at the price it had in a cart or order."""

    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Cart:
    """An online cart; `abandoned` once the customer left without checking out."""

    cart_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        """What the cart would cost."""
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True)
class Order:
    """A placed online order."""

    order_id: str
    placed_at: datetime
    status: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        """What the customer paid."""
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True)
class Catalog:
    """Everything the reference store serves; keyed by customer id or SKU, never mutated."""

    seed: int
    anchor: datetime
    currency: str
    customers: dict[str, Customer]
    variants: dict[str, Variant]
    wishlists: dict[str, tuple[WishlistEntry, ...]]
    carts: dict[str, tuple[Cart, ...]]
    orders: dict[str, tuple[Order, ...]]


@lru_cache(maxsize=4)
def generate_catalog(seed: int = DEFAULT_SEED, *, anchor: datetime) -> Catalog:
    """The store's data for `seed`, with every time at or before `anchor` (timezone-aware)."""
    if anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware")
    rng = random.Random(seed)
    variants = _products(rng)
    by_category: dict[str, list[Variant]] = {}
    for variant in variants.values():
        by_category.setdefault(variant.category, []).append(variant)
    customers: dict[str, Customer] = {}
    wishlists: dict[str, tuple[WishlistEntry, ...]] = {}
    carts: dict[str, tuple[Cart, ...]] = {}
    orders: dict[str, tuple[Order, ...]] = {}
    emails: set[str] = set()
    order_numbers = iter(range(100001, 10**7))
    for number in range(1, CUSTOMER_COUNT + 1):
        customer_id = f"c{number:04d}"
        demo = customer_id in DEMO_CUSTOMERS
        shopper = _Shopper(rng, by_category, anchor, demo)
        wishlists[customer_id] = shopper.wishlist()
        carts[customer_id] = shopper.carts(
            customer_id, keep_abandoned=customer_id not in DEMO_WITHOUT_CART
        )
        orders[customer_id] = shopper.orders(order_numbers)
        customers[customer_id] = shopper.customer(customer_id, orders[customer_id], emails)
    return Catalog(seed, anchor, CURRENCY, customers, variants, wishlists, carts, orders)


def _products(rng: random.Random) -> dict[str, Variant]:
    variants: dict[str, Variant] = {}
    for number in range(1, PRODUCT_COUNT + 1):
        category = rng.choice(CATEGORIES)
        product_id = f"{category.code}-{number:04d}"
        name = f"{rng.choice(MATERIALS)} {rng.choice(category.nouns)}"
        low, high = category.price_band
        price = Decimal(f"{rng.randint(low, high)}.{rng.choice(('00', '00', '50', '90'))}")
        run = SIZE_RUNS[category.size_kind]
        # Not every product is stocked in every size: drop an end of the run now and then.
        sizes = run[rng.randint(0, 1) if len(run) > 3 else 0 :]
        for colour, code, hex_colour in rng.sample(COLOURS, rng.choice((1, 1, 2))):
            # Some products have no photography yet: the tablet must cope with a null image.
            image = None if rng.random() < 0.15 else f"images/{product_id}-{code}.svg"
            for size in sizes:
                size_code = "OS" if size == "One size" else size.replace("/", "")
                sku = f"{product_id}-{code}-{size_code}"
                variants[sku] = Variant(
                    sku, product_id, name, category.name, size, colour, hex_colour, price, image
                )
    return variants


def demo_phone(customer_id: str) -> str:
    """A phone number for the customer from Ofcom's range reserved for drama (07700 900000-999).

    Derived from the id rather than drawn, so adding it changed no other generated value, and
    no real person can be rung by mistake.
    """
    return f"+44 7700 900{int(customer_id[1:]) % 1000:03d}"


class _Shopper:
    """Draws one customer's profile and history, in a fixed order of random draws."""

    def __init__(
        self,
        rng: random.Random,
        by_category: dict[str, list[Variant]],
        anchor: datetime,
        demo: bool,
    ) -> None:
        self._rng = rng
        self._by_category = by_category
        self._anchor = anchor
        self._demo = demo
        self.tier = rng.choices(TIERS, weights=(45, 30, 18, 7))[0]
        self.favourites = tuple(rng.sample([c.name for c in CATEGORIES], rng.randint(1, 3)))
        self.sizes = self._sizes()

    def _ago(self, low_hours: float, high_hours: float) -> datetime:
        hours = self._rng.uniform(low_hours, high_hours)
        return (self._anchor - timedelta(hours=hours)).replace(microsecond=0)

    def _sizes(self) -> tuple[tuple[str, str], ...]:
        rng = self._rng
        kinds = ["top", rng.choice(("trousers", "jeans")), "shoes"]
        if rng.random() < 0.5:
            kinds.append("dress")
        return tuple((kind, rng.choice(SIZE_RUNS[kind])) for kind in kinds)

    def _pick(self) -> Variant:
        """A variant this customer might want: a favourite category, in their size if stocked."""
        rng = self._rng
        category = (
            rng.choice(self.favourites) if rng.random() < 0.75 else rng.choice(CATEGORIES).name
        )
        pool = self._by_category[category]
        choice = rng.choice(pool)
        wanted = dict(self.sizes).get(next(c.size_kind for c in CATEGORIES if c.name == category))
        fitting = [v for v in pool if v.product_id == choice.product_id and v.size == wanted]
        return rng.choice(fitting) if fitting else choice

    def wishlist(self) -> tuple[WishlistEntry, ...]:
        """Saved items, newest first."""
        rng = self._rng
        count = rng.randint(2, 5) if self._demo else rng.choice((0, 0, 0, 1, 2, 3, 5, 8))
        skus = list(dict.fromkeys(self._pick().sku for _ in range(count)))
        entries = [WishlistEntry(sku, self._ago(2, 24 * 120)) for sku in skus]
        return tuple(sorted(entries, key=lambda e: e.added_at, reverse=True))

    def carts(self, customer_id: str, keep_abandoned: bool) -> tuple[Cart, ...]:
        """An abandoned cart for some, an active one for a few; most recently updated first."""
        rng = self._rng
        result = []
        abandoned = rng.random() < 0.25
        if self._demo:
            abandoned = keep_abandoned
        if abandoned:
            result.append(self._cart(f"cart-{customer_id}-a", "abandoned", 2, 24 * 10))
        if rng.random() < 0.1:
            result.append(self._cart(f"cart-{customer_id}-b", "active", 0.1, 2))
        return tuple(sorted(result, key=lambda c: c.updated_at, reverse=True))

    def _cart(self, cart_id: str, status: str, low_hours: float, high_hours: float) -> Cart:
        rng = self._rng
        picks = {v.sku: v for v in (self._pick() for _ in range(rng.randint(1, 3)))}
        lines = tuple(Line(v.sku, rng.choice((1, 1, 1, 2)), v.price) for v in picks.values())
        updated = self._ago(low_hours, high_hours)
        created = updated - timedelta(minutes=rng.randint(3, 90))
        return Cart(cart_id, status, created, updated, lines)

    def orders(self, numbers: Iterator[int]) -> tuple[Order, ...]:
        """Order history, most recent first."""
        rng = self._rng
        low, high = {"bronze": (0, 3), "silver": (2, 6), "gold": (4, 12), "platinum": (8, 24)}[
            self.tier
        ]
        count = max(rng.randint(low, high), 1 if self._demo else 0)
        placed = sorted((self._ago(24 * 3, 24 * 730) for _ in range(count)), reverse=True)
        result = []
        for at in placed:
            picks = {v.sku: v for v in (self._pick() for _ in range(rng.randint(1, 4)))}
            lines = tuple(Line(v.sku, rng.choice((1, 1, 2)), v.price) for v in picks.values())
            status = rng.choices(("delivered", "returned"), weights=(92, 8))[0]
            if self._anchor - at < timedelta(days=5):
                status = "shipped"
            result.append(Order(f"o{next(numbers)}", at, status, lines))
        return tuple(result)

    def customer(self, customer_id: str, orders: tuple[Order, ...], emails: set[str]) -> Customer:
        """The profile, consistent with the history: lifetime value is what they kept."""
        rng = self._rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@example.com".lower()
        if email in emails:
            email = f"{first}.{last}{customer_id[1:]}@example.com".lower()
        emails.add(email)
        kept = sum((o.total for o in orders if o.status != "returned"), Decimal("0.00"))
        first_order = min((o.placed_at for o in orders), default=self._anchor)
        return Customer(
            customer_id=customer_id,
            first_name=first,
            last_name=last,
            email=email,
            phone=demo_phone(customer_id),
            created_at=min(first_order, self._ago(24 * 30, 24 * 1500)),
            loyalty_tier=self.tier,
            loyalty_points=int(kept) * 10,
            lifetime_value=kept,
            sizes=self.sizes,
            favourite_categories=self.favourites,
            favourite_colours=tuple(c[0] for c in rng.sample(COLOURS, rng.randint(1, 3))),
            consents=(
                ("email", rng.random() < 0.7),
                ("sms", rng.random() < 0.3),
                ("push", rng.random() < 0.5),
            ),
        )
