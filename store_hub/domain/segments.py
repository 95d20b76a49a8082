"""Customer segments from profile, purchases on every channel, store visits and cart value.

Pure: the caller gathers the facts and passes `now`. Every threshold is inclusive and is a
named constant with its reason; the reference store's generated customers were used to check
that each segment picks out a minority rather than nearly everyone or nobody.

Money thresholds are in the retailer's currency: a hub serves one store and one currency, so
amounts from different currencies are not converted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

VIP = "vip"
NEW = "new"
LAPSING = "lapsing"
FREQUENT = "frequent"
HIGH_CART_VALUE = "high_cart_value"
SEGMENTS = (VIP, NEW, LAPSING, FREQUENT, HIGH_CART_VALUE)

# The top loyalty tiers are VIPs by the retailer's own definition.
VIP_TIERS = frozenset({"platinum", "vip"})
# About the top sixth of the reference store's customers by lifetime value (median 1,100).
VIP_LIFETIME_VALUE = Decimal("3000")
# A year's spend on any channel that marks a VIP even before the online lifetime value (which
# leaves out in-store receipts) catches up: about four typical orders.
VIP_YEAR_SPEND = Decimal("1500")
YEAR = timedelta(days=365)

# A customer whose first known purchase or visit is this recent is still being welcomed.
NEW_WITHIN = timedelta(days=30)

# Fashion customers buy every two months or so; twice that without a purchase is the point at
# which retailers' win-back programmes start.
LAPSING_AFTER = timedelta(days=120)

# Four purchases a year is a quarterly buyer, about twice the reference store's median.
FREQUENT_PURCHASES_PER_YEAR = 4
# Four different days in the store within a month is a regular visitor, buying or not;
# days, not visits, so walking out and back in does not count twice.
FREQUENT_VISIT_DAYS = 4
VISIT_WINDOW = timedelta(days=30)

# Above the reference store's median abandoned cart (about 260) and near its median order:
# a cart worth an associate's time to bring back.
HIGH_CART_VALUE_AT = Decimal("300")


@dataclass(frozen=True)
class Purchase:
    """A purchase on either channel: when, and what it came to."""

    at: datetime
    total: Decimal


@dataclass(frozen=True)
class CustomerFacts:
    """What segments are computed from.

    `history_known` is False when the online store could not say (profile unavailable): then
    rules that rest on the absence of purchases (new, lapsing) do not fire.
    """

    loyalty_tier: str | None = None
    lifetime_value: Decimal | None = None
    purchases: tuple[Purchase, ...] = ()
    visits: tuple[datetime, ...] = ()
    first_visit_at: datetime | None = None
    cart_value: Decimal | None = None
    history_known: bool = True


def is_vip(facts: CustomerFacts, now: datetime) -> bool:
    """Top tier, a lifetime value of 3,000 or more, or 1,500 spent in the last year."""
    tier = (facts.loyalty_tier or "").strip().lower()
    if tier in VIP_TIERS:
        return True
    if facts.lifetime_value is not None and facts.lifetime_value >= VIP_LIFETIME_VALUE:
        return True
    year_spend = sum((p.total for p in facts.purchases if now - p.at <= YEAR), Decimal(0))
    return year_spend >= VIP_YEAR_SPEND


def is_new(facts: CustomerFacts, now: datetime) -> bool:
    """Nothing known about them (purchase or visit) from more than 30 days ago."""
    if not facts.history_known:
        return False
    earliest = [p.at for p in facts.purchases] + list(facts.visits)
    if facts.first_visit_at is not None:
        earliest.append(facts.first_visit_at)
    return all(now - at <= NEW_WITHIN for at in earliest)


def is_lapsing(facts: CustomerFacts, now: datetime) -> bool:
    """Has bought before, but not in the last 120 days."""
    if not facts.history_known or not facts.purchases:
        return False
    return now - max(p.at for p in facts.purchases) >= LAPSING_AFTER


def is_frequent(facts: CustomerFacts, now: datetime) -> bool:
    """Four or more purchases in a year, or in the store on four or more days in 30."""
    purchases = sum(1 for p in facts.purchases if now - p.at <= YEAR)
    days = {at.date() for at in facts.visits if now - at <= VISIT_WINDOW}
    return purchases >= FREQUENT_PURCHASES_PER_YEAR or len(days) >= FREQUENT_VISIT_DAYS


def has_high_cart_value(facts: CustomerFacts, now: datetime) -> bool:
    """An abandoned online cart worth 300 or more."""
    return facts.cart_value is not None and facts.cart_value >= HIGH_CART_VALUE_AT


RULES = {
    VIP: is_vip,
    NEW: is_new,
    LAPSING: is_lapsing,
    FREQUENT: is_frequent,
    HIGH_CART_VALUE: has_high_cart_value,
}


def segments(facts: CustomerFacts, now: datetime) -> list[str]:
    """The customer's segment ids, in the fixed order of SEGMENTS."""
    return [segment for segment in SEGMENTS if RULES[segment](facts, now)]
