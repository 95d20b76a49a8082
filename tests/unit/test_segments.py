"""Segment rules at and around their thresholds, with time injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from store_hub.domain.segments import (
    FREQUENT_PURCHASES_PER_YEAR,
    FREQUENT_VISIT_DAYS,
    HIGH_CART_VALUE_AT,
    LAPSING_AFTER,
    NEW_WITHIN,
    VIP_LIFETIME_VALUE,
    VIP_YEAR_SPEND,
    YEAR,
    CustomerFacts,
    Purchase,
    segments,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
CENT = Decimal("0.01")


def bought(days_ago: float, total: str = "50.00") -> Purchase:
    return Purchase(NOW - timedelta(days=days_ago), Decimal(total))


def old_customer(**changes: object) -> CustomerFacts:
    """Someone known for years who bought last month: in no segment at all."""
    facts = CustomerFacts(
        loyalty_tier="silver",
        lifetime_value=Decimal("800"),
        purchases=(bought(30), bought(400)),
        visits=(),
        first_visit_at=NOW - timedelta(days=700),
        cart_value=None,
    )
    return CustomerFacts(**{**facts.__dict__, **changes})  # type: ignore[arg-type]


def test_an_ordinary_customer_is_in_no_segment() -> None:
    assert segments(old_customer(), NOW) == []


@pytest.mark.parametrize("tier", ["platinum", "VIP", " Platinum "])
def test_top_tiers_are_vip(tier: str) -> None:
    assert segments(old_customer(loyalty_tier=tier), NOW) == ["vip"]


def test_gold_is_not_vip_by_tier_alone() -> None:
    assert "vip" not in segments(old_customer(loyalty_tier="gold"), NOW)


def test_vip_by_lifetime_value_from_the_threshold_up() -> None:
    assert "vip" in segments(old_customer(lifetime_value=VIP_LIFETIME_VALUE), NOW)
    assert "vip" not in segments(old_customer(lifetime_value=VIP_LIFETIME_VALUE - CENT), NOW)


def test_vip_by_a_years_spend_on_any_channel_counts_only_the_last_year() -> None:
    half = str(VIP_YEAR_SPEND / 2)
    within = (bought(10, half), bought(364, half))
    assert "vip" in segments(old_customer(purchases=within), NOW)
    outside = (bought(10, half), bought(366, half))
    assert "vip" not in segments(old_customer(purchases=outside), NOW)
    short = (bought(10, half), bought(300, str(VIP_YEAR_SPEND / 2 - CENT)))
    assert "vip" not in segments(old_customer(purchases=short), NOW)


def test_new_while_nothing_known_is_older_than_thirty_days() -> None:
    fresh = CustomerFacts(purchases=(bought(29),), first_visit_at=NOW - NEW_WITHIN)
    assert segments(fresh, NOW) == ["new"]
    older_visit = CustomerFacts(first_visit_at=NOW - NEW_WITHIN - timedelta(seconds=1))
    assert "new" not in segments(older_visit, NOW)
    older_purchase = CustomerFacts(purchases=(bought(31),))
    assert "new" not in segments(older_purchase, NOW)
    assert segments(CustomerFacts(), NOW) == ["new"]


def test_unknown_history_is_neither_new_nor_lapsing() -> None:
    unknown = CustomerFacts(history_known=False)
    assert segments(unknown, NOW) == []
    lapsed_but_unknown = CustomerFacts(purchases=(bought(200),), history_known=False)
    assert segments(lapsed_but_unknown, NOW) == []


def test_lapsing_from_one_hundred_and_twenty_days_without_a_purchase() -> None:
    at_threshold = old_customer(purchases=(Purchase(NOW - LAPSING_AFTER, Decimal(40)),))
    assert segments(at_threshold, NOW) == ["lapsing"]
    just_before = old_customer(
        purchases=(Purchase(NOW - LAPSING_AFTER + timedelta(minutes=1), Decimal(40)),)
    )
    assert segments(just_before, NOW) == []
    # One recent purchase among old ones is enough to not be lapsing.
    assert "lapsing" not in segments(old_customer(purchases=(bought(200), bought(5))), NOW)
    # Never bought: nothing to lapse from.
    assert "lapsing" not in segments(old_customer(purchases=()), NOW)


def test_frequent_by_purchases_in_a_year() -> None:
    count = FREQUENT_PURCHASES_PER_YEAR
    enough = tuple(bought(30 + 60 * n) for n in range(count))
    assert "frequent" in segments(old_customer(purchases=enough), NOW)
    one_too_old = (*enough[:-1], Purchase(NOW - YEAR - timedelta(days=1), Decimal(10)))
    assert "frequent" not in segments(old_customer(purchases=one_too_old), NOW)


def test_frequent_by_days_in_the_store_not_visits() -> None:
    days = tuple(NOW - timedelta(days=d, hours=1) for d in range(FREQUENT_VISIT_DAYS))
    assert "frequent" in segments(old_customer(visits=days), NOW)
    same_day = tuple(NOW - timedelta(minutes=m) for m in range(0, 600, 60))
    assert "frequent" not in segments(old_customer(visits=same_day), NOW)
    stale = (*days[:-1], NOW - timedelta(days=31))
    assert "frequent" not in segments(old_customer(visits=stale), NOW)


def test_high_cart_value_from_the_threshold_up() -> None:
    assert segments(old_customer(cart_value=HIGH_CART_VALUE_AT), NOW) == ["high_cart_value"]
    assert segments(old_customer(cart_value=HIGH_CART_VALUE_AT - CENT), NOW) == []


def test_segments_come_in_a_fixed_order_and_move_with_the_clock() -> None:
    facts = CustomerFacts(
        loyalty_tier="platinum",
        purchases=(bought(1),),
        cart_value=Decimal("450.00"),
    )
    assert segments(facts, NOW) == ["vip", "new", "high_cart_value"]
    later = NOW + timedelta(days=200)
    assert segments(facts, later) == ["vip", "lapsing", "high_cart_value"]
