"""Shared builders for the offer tests: no tests here, only values (not a conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from store_hub.domain.money import Money
from store_hub.domain.offer_caps import OfferHistory
from store_hub.domain.offer_decision import (
    Decision,
    InterestItem,
    OfferDecider,
    Shopper,
    Store,
    TriggerEvent,
)
from store_hub.domain.offer_rules import OfferPolicy
from store_hub.domain.offer_rules_load import parse_policy

LONDON = ZoneInfo("Europe/London")
STORE = Store("s042", LONDON)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 in London
SECRET = b"unit-test-holdout-secret-32bytes"
ARRIVED = TriggerEvent.arrived("v1", NOW)


def gbp(amount: str) -> Money:
    return Money(Decimal(amount), "GBP")


COAT = InterestItem("SKU-2", "Wool coat", gbp("219.99"), "cart", in_stock_here=False)
SHIRT = InterestItem("SKU-1", "Linen shirt", gbp("49.90"), "cart", in_stock_here=True)
SHOE = InterestItem("SKU-3", "Trail shoe", gbp("129.00"), "wishlist", in_stock_here=True)
SCARF = InterestItem("SKU-4", "Silk scarf", gbp("159.00"), "wishlist", in_stock_here=False)


def shopper(**changes: Any) -> Shopper:
    base: dict[str, Any] = {
        "customer_id": "c0001",
        "consents": frozenset({"presence", "offers", "associate_view"}),
        "tier": "gold",
        "segments": frozenset({"uk"}),
        "items": (SHIRT, COAT, SHOE, SCARF),
        "last_visit_at": NOW - timedelta(days=40),
    }
    base.update(changes)
    return Shopper(**base)


def rule(rule_id: str = "r1", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": rule_id,
        "trigger": "arrived",
        "offer": {
            "percent_off": 10,
            "scope": "item",
            "validity_minutes": 120,
            "message": {
                "en": {"title": "{percent}% off {item_name}", "body": "Show this at the till"},
                "de": {"title": "{percent} % auf {item_name}", "body": "An der Kasse zeigen"},
            },
        },
    }
    base.update(overrides)
    return base


def policy(*rules: dict[str, Any], **courtesy: Any) -> OfferPolicy:
    settings: dict[str, Any] = {
        "per_customer_per_visit": None,
        "per_customer_per_day": None,
        "per_store_per_day": None,
        "cooldown_minutes": 0,
        "quiet_hours": None,
    }
    settings.update(courtesy)
    return parse_policy(
        {"default_locale": "en", "courtesy": settings, "rules": list(rules) or [rule()]}
    )


def decide(
    p: OfferPolicy,
    *,
    event: TriggerEvent = ARRIVED,
    who: Shopper | None = None,
    history: OfferHistory | None = None,
    now: datetime = NOW,
    store: Store = STORE,
) -> tuple[Decision, ...]:
    return OfferDecider(p, SECRET).decide(
        event, who or shopper(), store, history or OfferHistory(), now
    )


def only(decisions: tuple[Decision, ...]) -> Decision:
    assert len(decisions) == 1, decisions
    return decisions[0]
