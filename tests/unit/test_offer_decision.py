from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from store_hub.domain.holdout import is_held_out
from store_hub.domain.money import Money
from store_hub.domain.offer_caps import OfferHistory
from store_hub.domain.offer_decision import InterestItem, OfferDecider, TriggerEvent
from store_hub.domain.offer_rules_load import load_policy

from .test_offer_support import (
    ARRIVED,
    COAT,
    NOW,
    SECRET,
    SHIRT,
    SHOE,
    STORE,
    decide,
    gbp,
    only,
    policy,
    rule,
    shopper,
)


def offer(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(rule()["offer"])
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def item(price: str, currency: str = "GBP", source: str = "cart") -> InterestItem:
    return InterestItem("SKU-X", "Thing", Money(Decimal(price), currency), source, True)  # type: ignore[arg-type]


# -- the demo rule: the walking skeleton's behaviour, to the cent -------------------------------


def demo_decider() -> OfferDecider:
    text = resources.files("store_hub.demo").joinpath("data/offer_rules.yaml").read_text("utf-8")
    return OfferDecider(load_policy(text), SECRET)


def test_demo_rule_offers_dearest_cart_item_exactly() -> None:
    decision = only(demo_decider().decide(ARRIVED, shopper(), STORE, OfferHistory(), NOW))
    assert (decision.outcome, decision.reason, decision.rule_id) == (
        "send",
        "sent",
        "arrival-cart-10",
    )
    terms = decision.terms
    assert terms is not None
    assert (terms.sku, terms.item_name) == ("SKU-2", "Wool coat")
    assert terms.discount == Money(Decimal("22.00"), "GBP")  # 21.999 rounded half up
    assert terms.liability == terms.discount
    assert terms.expires_at == NOW + timedelta(hours=2)
    assert terms.title == "10% off Wool coat"
    record = decision.to_record()
    assert json.loads(json.dumps(record)) == record
    assert record["terms"]["discount"] == {"amount": "22.00", "currency": "GBP"}
    assert record["customer_id"] == "c0001" and record["visit_id"] == "v1"


def test_demo_rule_falls_back_to_dearest_wishlist_item() -> None:
    who = shopper(items=(SHOE,))
    terms = only(demo_decider().decide(ARRIVED, who, STORE, OfferHistory(), NOW)).terms
    assert terms is not None and terms.sku == "SKU-3"
    assert terms.discount == gbp("12.90")


@pytest.mark.parametrize(
    ("price", "currency", "percent", "expected"),
    [
        ("0.25", "GBP", 10, "0.03"),  # 0.025: half up, where banker's rounding gives 0.02
        ("0.35", "GBP", 10, "0.04"),  # 0.035
        ("19.99", "GBP", 15, "3.00"),  # 2.9985
        ("219.99", "EUR", 10, "22.00"),
        ("1999", "JPY", 15, "300"),  # 299.85, yen have no minor unit
        ("12.345", "KWD", 10, "1.235"),  # 1.2345, three decimals
    ],
)
def test_percent_discount_is_exact_and_rounded_half_up(
    price: str, currency: str, percent: int, expected: str
) -> None:
    p = policy(rule(offer=offer(percent_off=percent)))
    terms = only(decide(p, who=shopper(items=(item(price, currency),)))).terms
    assert terms is not None and terms.discount is not None
    assert str(terms.discount.amount) == expected
    assert terms.discount.currency == currency


def test_amount_off_an_item_never_exceeds_its_price() -> None:
    five = {"amount": "5.00", "currency": "GBP"}
    msg = {"en": {"title": "{amount} off {item_name}", "body": "b"}}
    p = policy(rule(offer=offer(percent_off=None, amount_off=five, message=msg)))
    cheap = only(decide(p, who=shopper(items=(item("3.50"),)))).terms
    assert cheap is not None and cheap.discount == gbp("3.50") and cheap.liability == gbp("3.50")
    dear = only(decide(p, who=shopper(items=(item("80.00"),)))).terms
    assert dear is not None and dear.discount == gbp("5.00")
    assert dear.title == "£5.00 off Thing"


def test_max_discount_bounds_a_percent_item_offer() -> None:
    p = policy(rule(offer=offer(max_discount={"amount": "15.00", "currency": "GBP"})))
    terms = only(decide(p)).terms
    assert terms is not None and terms.discount == gbp("15.00")


def test_category_and_basket_offers_are_bounded_by_the_template() -> None:
    p = policy(
        rule("cat", offer=offer(scope="category", category="knitwear",
                                max_discount={"amount": "25.00", "currency": "GBP"},
                                message={"en": {"title": "{percent}% off {category}",
                                                "body": "b"}})),
        rule("basket", offer=offer(scope="basket", percent_off=None,
                                   amount_off={"amount": "10.00", "currency": "GBP"},
                                   min_spend={"amount": "50.00", "currency": "GBP"},
                                   message={"en": {"title": "{amount} off over {min_spend}",
                                                   "body": "b"}})),
    )  # fmt: skip
    cat, basket = decide(p, who=shopper(items=()))
    assert cat.terms is not None and basket.terms is not None
    assert (cat.reason, cat.terms.discount, cat.terms.liability) == ("sent", None, gbp("25.00"))
    assert cat.terms.title == "10% off knitwear" and cat.terms.sku is None
    assert basket.terms.liability == gbp("10.00")
    assert basket.terms.title == "£10.00 off over £50.00"


def test_message_in_the_shoppers_locale_else_the_default() -> None:
    german = only(decide(policy(), who=shopper(locale="de-AT"))).terms
    assert german is not None and (german.locale, german.title) == ("de", "10 % auf Wool coat")
    french = only(decide(policy(), who=shopper(locale="fr"))).terms
    assert french is not None and (french.locale, french.title) == ("en", "10% off Wool coat")


# -- triggers ---------------------------------------------------------------------------------


def test_arrived_fires_on_arrival_only() -> None:
    assert only(decide(policy())).reason == "sent"
    dwell = TriggerEvent.zone_dwell("v1", NOW, "denim", 600)
    assert decide(policy(), event=dwell) == ()


def test_zone_dwell_needs_the_zone_and_long_enough() -> None:
    p = policy(rule(trigger={"zone_dwell": {"zone": "denim", "seconds": 120}}))
    assert decide(p) == ()
    assert decide(p, event=TriggerEvent.zone_dwell("v1", NOW, "denim", 119.9)) == ()
    assert decide(p, event=TriggerEvent.zone_dwell("v1", NOW, "knitwear", 600)) == ()
    decision = only(decide(p, event=TriggerEvent.zone_dwell("v1", NOW, "denim", 120)))
    assert (decision.reason, decision.trigger) == ("sent", "zone_dwell")


def test_wishlist_in_stock_here_offers_the_stocked_wishlist_item() -> None:
    p = policy(rule(trigger="wishlist_in_stock_here"))
    terms = only(decide(p)).terms
    # The scarf is dearer but not on the shelf here; the shoe is.
    assert terms is not None and terms.sku == "SKU-3"
    unstocked = SHOE.__class__(**{**SHOE.__dict__, "in_stock_here": False})
    assert decide(p, who=shopper(items=(SHIRT, COAT, unstocked))) == ()


def test_cart_item_in_stock_here_offers_the_stocked_cart_item() -> None:
    p = policy(rule(trigger="cart_item_in_stock_here"))
    terms = only(decide(p)).terms
    assert terms is not None and terms.sku == "SKU-1"  # not the dearer coat, out of stock here
    assert decide(p, who=shopper(items=(COAT, SHOE))) == ()


def test_in_stock_only_and_item_sources() -> None:
    p = policy(rule(offer=offer(item_from=["wishlist"], in_stock_only=True)))
    terms = only(decide(p)).terms
    assert terms is not None and terms.sku == "SKU-3"
    p = policy(rule(offer=offer(item_from=["wishlist", "cart"])))
    terms = only(decide(p)).terms
    assert terms is not None and terms.sku == "SKU-4"


def test_returning_after_days_counts_store_local_days() -> None:
    p = policy(rule(trigger={"returning_after_days": {"days": 30}}))
    assert only(decide(p, who=shopper(last_visit_at=NOW - timedelta(days=30)))).reason == "sent"
    assert decide(p, who=shopper(last_visit_at=NOW - timedelta(days=29))) == ()
    assert decide(p, who=shopper(last_visit_at=None)) == ()  # a first visit is no return
    # 23:30 UTC on 1 July is 2 July in London: 29 local days before 31 July, not 30.
    now = datetime(2026, 7, 31, 12, 0, tzinfo=UTC)
    last = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    assert decide(p, who=shopper(last_visit_at=last), now=now) == ()
    assert decide(p, who=shopper(last_visit_at=last - timedelta(hours=1)), now=now) != ()


# -- consent and conditions -------------------------------------------------------------------


def test_offers_consent_is_required_before_anything_else() -> None:
    p = policy(rule(conditions={"tiers": ["platinum"]}))
    decision = only(decide(p, who=shopper(consents=frozenset({"presence"}))))
    assert (decision.outcome, decision.reason, decision.terms) == (
        "no_send",
        "no_offers_consent",
        None,
    )


@pytest.mark.parametrize(
    ("conditions", "changes", "detail"),
    [
        ({"segments": {"any_of": ["lapsed", "new"]}}, {}, "segments.any_of"),
        ({"segments": {"all_of": ["uk", "vip"]}}, {}, "segments.all_of"),
        ({"segments": {"none_of": ["uk"]}}, {}, "segments.none_of"),
        ({"tiers": ["platinum"]}, {}, "tiers"),
        ({"tiers": ["gold"]}, {"tier": None}, "tiers"),
        ({"consents": ["associate_view"]}, {"consents": frozenset({"offers"})}, "consents"),
        ({"stores": ["s001"]}, {}, "stores"),
        ({"time_of_day": {"start": "11:00", "end": "18:00"}}, {}, "time_of_day"),
        ({"weekdays": ["sat", "sun"]}, {}, "weekdays"),
    ],
)
def test_each_condition_refuses(
    conditions: dict[str, Any], changes: dict[str, Any], detail: str
) -> None:
    decision = only(decide(policy(rule(conditions=conditions)), who=shopper(**changes)))
    assert (decision.outcome, decision.reason, decision.detail) == (
        "no_send",
        "conditions_not_met",
        detail,
    )


@pytest.mark.parametrize(
    "conditions",
    [
        {"segments": {"any_of": ["uk", "new"], "all_of": ["uk"], "none_of": ["staff"]}},
        {"tiers": ["gold", "platinum"]},
        {"consents": ["associate_view", "presence"]},
        {"stores": ["s042", "s001"]},
        {"time_of_day": {"start": "10:00", "end": "11:00"}},
        {"time_of_day": {"start": "09:00", "end": "02:00"}},
        {"weekdays": ["tue"]},
    ],
)
def test_each_condition_admits(conditions: dict[str, Any]) -> None:
    assert only(decide(policy(rule(conditions=conditions)))).reason == "sent"


def test_time_and_weekday_conditions_use_store_local_time() -> None:
    # Monday 23:30 UTC in July is Tuesday 00:30 in London.
    now = datetime(2026, 7, 6, 23, 30, tzinfo=UTC)
    tuesday = policy(rule(conditions={"weekdays": ["tue"]}))
    assert only(decide(tuesday, now=now)).reason == "sent"
    late = policy(rule(conditions={"time_of_day": {"start": "00:00", "end": "01:00"}}))
    assert only(decide(late, now=now)).reason == "sent"


# -- nothing to offer, disabled, once per visit -----------------------------------------------


def test_nothing_to_offer() -> None:
    decision = only(decide(policy(), who=shopper(items=())))
    assert (decision.outcome, decision.reason) == ("no_send", "nothing_to_offer")
    # A rule with GBP amounts cannot offer an item priced in euros.
    p = policy(rule(budget={"money_per_day": {"amount": "100.00", "currency": "GBP"}}))
    decision = only(decide(p, who=shopper(items=(item("50.00", "EUR"),))))
    assert decision.reason == "nothing_to_offer"


def test_disabled_rules_and_rules_already_decided_this_visit_are_skipped() -> None:
    assert decide(policy(rule(enabled=False))) == ()
    done = OfferHistory(rules_decided_this_visit=frozenset({"r1"}))
    assert decide(policy(), history=done) == ()


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(policy(), now=datetime(2026, 11, 24, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(policy(), who=shopper(last_visit_at=datetime(2026, 1, 1)))


# -- holdout ----------------------------------------------------------------------------------


def customers(held: bool, rule_id: str, share: str = "0.5") -> list[str]:
    ids = [f"c{n:04d}" for n in range(200)]
    return [c for c in ids if is_held_out(SECRET, c, rule_id, Decimal(share)) == held]


def test_held_out_is_recorded_with_terms_but_not_sent() -> None:
    p = policy(rule(holdout_share=0.5))
    held = customers(True, "r1")[0]
    decision = only(decide(p, who=shopper(customer_id=held)))
    assert (decision.outcome, decision.reason) == ("no_send", "held_out")
    assert decision.eligible and decision.terms is not None and decision.terms.sku == "SKU-2"
    treated = customers(False, "r1")[0]
    assert only(decide(p, who=shopper(customer_id=treated))).reason == "sent"


def test_held_out_uses_no_cap_so_the_next_rule_may_send() -> None:
    p = policy(rule("a", holdout_share=0.5), rule("b"), per_customer_per_visit=1)
    held = next(c for c in customers(True, "a"))
    a, b = decide(p, who=shopper(customer_id=held))
    assert (a.reason, b.reason) == ("held_out", "sent")


def test_caps_come_before_holdout_so_the_groups_are_alike() -> None:
    p = policy(rule(holdout_share=0.5), per_customer_per_visit=1)
    held = customers(True, "r1")[0]
    capped = OfferHistory(customer_sent_this_visit=1)
    assert only(decide(p, who=shopper(customer_id=held), history=capped)).reason == "capped:visit"
