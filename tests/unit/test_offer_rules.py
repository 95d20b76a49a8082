from __future__ import annotations

import json
from copy import deepcopy
from datetime import time, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from store_hub.domain.money import Money
from store_hub.domain.offer_rules import Trigger
from store_hub.domain.offer_rules_load import (
    RulesError,
    dump_policy,
    load_policy,
    parse_policy,
    policy_to_yaml,
)
from store_hub.domain.quiet_hours import LocalWindow


def rule(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "cart-10",
        "trigger": "arrived",
        "offer": {
            "percent_off": 10,
            "scope": "item",
            "validity_minutes": 120,
            "message": {"en": {"title": "{percent}% off {item_name}", "body": "Hello"}},
        },
    }
    base.update(overrides)
    return base


def doc(*rules: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"default_locale": "en", "rules": list(rules) or [rule()]}
    base.update(overrides)
    return base


def offer(**changes: Any) -> dict[str, Any]:
    o: dict[str, Any] = deepcopy(rule()["offer"])
    for key, value in changes.items():
        if value is None:
            o.pop(key, None)
        else:
            o[key] = value
    return o


def problems(data: Any) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_policy(data, "rules.yaml")
    return list(caught.value.problems)


def one_problem(data: Any) -> str:
    found = problems(data)
    assert len(found) == 1, found
    return found[0]


def test_error_names_rule_key_and_fix() -> None:
    data = doc(rule(trigger={"zone_dwell": {"zone": "fitting", "seconds": "soon"}}))
    assert one_problem(data) == (
        "rules.yaml: rule 'cart-10': trigger.zone_dwell.seconds must be a whole number of "
        "seconds between 10 and 86400 (got 'soon')"
    )


def test_all_problems_are_reported_at_once() -> None:
    found = problems(
        doc(
            rule(id="a", holdout_share=0.7),
            rule(id="b", offer=offer(validity_minutes=1)),
            courtesy={"cooldown_minutes": -1},
        )
    )
    assert len(found) == 3
    assert any("rule 'a': holdout_share must be a share between 0 and 0.5" in p for p in found)
    assert any(
        "rule 'b': offer.validity_minutes must be a whole number of minutes" in p for p in found
    )
    assert any("courtesy.cooldown_minutes" in p for p in found)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (doc(rule(offer=offer(validty_minutes=5))), "offer.validty_minutes is not a known key "
         "(did you mean 'validity_minutes'?)"),
        (doc(rule(trigger="arived")), "trigger.arived is not a trigger (did you mean 'arrived'?)"),
        (doc(rule(trigger={"arrived": {"zone": "x"}})), "trigger.arrived takes no parameters"),
        (doc(rule(trigger={"arrived": None, "zone_dwell": None})), "trigger must be exactly one"),
        (doc(rule(trigger={"returning_after_days": {"days": 0}})),
         "trigger.returning_after_days.days must be a whole number of days between 1 and 3650"),
        (doc(rule(trigger={"zone_dwell": {"seconds": 60}})), "trigger.zone_dwell.zone is required"),
        (doc(rule(offer=offer(amount_off={"amount": "5.00", "currency": "GBP"}))),
         "offer must have exactly one of percent_off or amount_off"),
        (doc(rule(offer=offer(percent_off=None))),
         "offer must have exactly one of percent_off or amount_off"),
        (doc(rule(offer=offer(percent_off=95))), "offer.percent_off must be a whole number of "
         "percent between 1 and 90 (got 95)"),
        (doc(rule(offer=offer(percent_off=True))), "offer.percent_off must be a whole number"),
        (doc(rule(offer=offer(scope="shelf"))), "offer.scope must be item, category or basket"),
        (doc(rule(offer=offer(scope="basket", message={"en": {"title": "x", "body": "y"}}))),
         "offer.max_discount is required for percent off a basket"),
        (doc(rule(offer=offer(scope="category", max_discount={"amount": "20", "currency": "GBP"},
                              message={"en": {"title": "x", "body": "y"}}))),
         "offer.category must be a non-empty text"),
        (doc(rule(offer=offer(category="knitwear"))), "offer.category only applies with "
         "scope: category; remove it"),
        (doc(rule(offer=offer(item_from=["cart", "cart"]))),
         "offer.item_from must list cart and/or wishlist once each"),
        (doc(rule(offer=offer(item_from=["basket"]))), "offer.item_from must list cart"),
        (doc(rule(offer=offer(min_spend={"amount": 50.0, "currency": "GBP"}))),
         "offer.min_spend.amount must be a quoted decimal such as '5.00'"),
        (doc(rule(offer=offer(min_spend={"amount": "50.001", "currency": "GBP"}))),
         "offer.min_spend is not valid money: 50.001 GBP has more than 2 decimal places"),
        (doc(rule(offer=offer(min_spend={"amount": "-1", "currency": "GBP"}))),
         "offer.min_spend.amount must be more than zero"),
        (doc(rule(offer=offer(min_spend={"amount": "5", "currency": "pounds"}))),
         "currency must be a 3-letter ISO 4217 code"),
        (doc(rule(offer=offer(message={"de": {"title": "x", "body": "y"}}))),
         "offer.message must include the default locale 'en' (got ['de'])"),
        (doc(rule(offer=offer(message={"en": {"title": "{amount} off", "body": "y"}}))),
         "offer.message.en.title uses {amount}, which this offer has no value for; use "
         "{item_name}, {percent}"),
        (doc(rule(offer=offer(message={"en": {"title": "{item_name!r}", "body": "y"}}))),
         "offer.message.en.title has a malformed placeholder"),
        (doc(rule(offer=offer(message={"en": {"title": "50% {off", "body": "y"}}))),
         "offer.message.en.title has a malformed placeholder: unbalanced braces"),
        (doc(rule(offer=offer(message={"en": {"title": "x"}}))),
         "offer.message.en.body is required"),
        (doc(rule(offer=offer(message={False: {"title": "x", "body": "y"},
                                       "en": {"title": "x", "body": "y"}}))),
         "is not a locale such as en or pt-BR; quote it, e.g. 'no'"),
        (doc(rule(holdout_share="lots")), "holdout_share must be a share between 0 and 0.5"),
        (doc(rule(enabled="yes")), "enabled must be true or false (got 'yes')"),
        (doc(rule(conditions={"weekdays": ["monday"]})),
         "conditions.weekdays may only contain mon, tue, wed, thu, fri, sat, sun"),
        (doc(rule(conditions={"consents": ["marketing"]})),
         "conditions.consents may only contain presence, offers, associate_view"),
        (doc(rule(conditions={"tiers": "gold"})), "conditions.tiers must be a list of names"),
        (doc(rule(conditions={"segments": {"any_of": ["vip"], "none_of": ["vip"]}})),
         "conditions.segments names a segment in both any_of and none_of"),
        (doc(rule(conditions={"segments": {"some_of": ["vip"]}})),
         "conditions.segments.some_of is not a known key"),
        (doc(rule(conditions={"time_of_day": {"start": 600, "end": "18:00"}})),
         "conditions.time_of_day.start must be quoted, e.g. '10:00' (got 600)"),
        (doc(rule(conditions={"time_of_day": {"start": "25:00", "end": "18:00"}})),
         "conditions.time_of_day.start must be a 24-hour time 'HH:MM'"),
        (doc(rule(conditions={"time_of_day": {"start": "18:00", "end": "18:00"}})),
         "conditions.time_of_day start and end must differ"),
        (doc(rule(budget={"offers_per_day": 0})),
         "budget.offers_per_day must be a whole number of offers between 1 and 10000000"),
        (doc(rule(id="Cart 10")), "rule #1: id must look like"),
        (doc(rule(offer=offer(amount_off={"amount": "5.00", "currency": "EUR"}, percent_off=None,
                              message={"en": {"title": "{amount} off", "body": "y"}}),
                  budget={"money_per_day": {"amount": "100.00", "currency": "GBP"}})),
         "offer/budget must use one currency for all amounts (got ['EUR', 'GBP'])"),
        (doc(rule(offer=offer(amount_off={"amount": "5", "currency": "GBP"}, percent_off=None,
                              max_discount={"amount": "5", "currency": "GBP"},
                              message={"en": {"title": "{amount}", "body": "y"}}))),
         "offer.max_discount only applies to percent_off; remove it"),
        (doc(rule(), version=2), "rules.yaml: version must be 1 (got 2)"),
        (doc(rule(), default_locale="English"), "rules.yaml: default_locale must look like"),
        (doc(rule(), courtesy={"quiet_hours": {"start": "22:00"}}),
         "rules.yaml: courtesy.quiet_hours.end is required"),
        (doc(rule(), courtesy={"per_customer_per_day": 0}),
         "courtesy.per_customer_per_day must be a whole number of offers between 1 and 1000"),
        ({"rules": []}, "rules.yaml: default_locale is required"),
        ({"default_locale": "en", "rules": {}}, "rules must be a list of rules"),
        ([], "the document must be a mapping"),
    ],
)  # fmt: skip
def test_invalid_documents_say_what_and_where(data: Any, expected: str) -> None:
    found = problems(data)
    assert any(expected in p for p in found), found
    assert all(p.startswith("rules.yaml: ") for p in found)


def test_duplicate_rule_ids_are_refused() -> None:
    assert "rules[1].id 'cart-10' is used twice" in one_problem(doc(rule(), rule()))


def test_yaml_syntax_error_has_a_line() -> None:
    with pytest.raises(
        RulesError, match=r"rules.yaml: line 4, column 1: not valid YAML: expected ',' or ']'"
    ):
        load_policy("default_locale: en\nrules:\n  - id: [unclosed\n", "rules.yaml")


def test_yaml_duplicate_key_is_refused() -> None:
    text = "default_locale: en\ndefault_locale: de\nrules: []\n"
    with pytest.raises(RulesError, match="key 'default_locale' appears twice"):
        load_policy(text)


def test_yaml_unquoted_time_gets_a_hint() -> None:
    text = """
default_locale: en
courtesy: {quiet_hours: {start: 22:00, end: '08:00'}}
rules: []
"""
    with pytest.raises(RulesError) as caught:
        load_policy(text, "rules.yaml")
    assert caught.value.problems == (
        "rules.yaml: courtesy.quiet_hours.start must be quoted, e.g. '10:00' (got 1320)",
    )


def test_a_full_rule_loads_into_values() -> None:
    text = """
default_locale: en
courtesy:
  per_customer_per_visit: 2
  per_customer_per_day: null
  per_store_per_day: 300
  cooldown_minutes: 10
  quiet_hours: {start: '21:30', end: '08:00'}
rules:
  - id: knit-5
    trigger: {zone_dwell: {zone: knitwear, seconds: 120}}
    conditions:
      segments: {any_of: [lapsed, new], all_of: [uk], none_of: [staff]}
      tiers: [gold]
      consents: [associate_view]
      stores: [s042]
      time_of_day: {start: '10:00', end: '18:00'}
      weekdays: [sat, sun]
    offer:
      percent_off: 15
      scope: category
      category: knitwear
      max_discount: {amount: '30', currency: GBP}
      min_spend: {amount: '50.00', currency: GBP}
      validity_minutes: 45
      message:
        en: {title: '{percent}% off {category}', body: 'Spend {min_spend}'}
        'no': {title: '{percent} % på {category}', body: 'Bruk {min_spend}'}
    budget: {offers_per_day: 40, money_per_day: {amount: '600', currency: GBP}}
    holdout_share: 0.2
"""
    policy = load_policy(text)
    assert policy.courtesy.per_customer_per_day is None
    assert policy.courtesy.cooldown == timedelta(minutes=10)
    assert policy.courtesy.quiet_hours == LocalWindow(time(21, 30), time(8, 0))
    r = policy.rule("knit-5")
    assert r.trigger == Trigger("zone_dwell", zone="knitwear", seconds=120)
    assert r.conditions.segments_any_of == {"lapsed", "new"}
    assert r.conditions.weekdays == {5, 6}
    assert r.offer.max_discount == Money(Decimal("30.00"), "GBP")
    assert str(r.offer.max_discount.amount) == "30.00"
    assert r.offer.validity == timedelta(minutes=45)
    assert r.holdout_share == Decimal("0.2")
    assert r.budget.money_per_day == Money(Decimal("600.00"), "GBP")
    assert r.currency == "GBP"
    assert r.offer.message_for("no", "en")[0] == "no"
    assert r.offer.message_for("nb-NO", "en")[0] == "en"
    assert r.offer.message_for("en-GB", "en")[0] == "en"
    # Round trips: JSON for the admin API, YAML for the file.
    dumped = dump_policy(policy)
    assert parse_policy(json.loads(json.dumps(dumped))) == policy
    assert load_policy(policy_to_yaml(policy)) == policy
    assert dump_policy(parse_policy(dumped)) == dumped


def test_the_demo_rules_are_the_walking_skeleton_behaviour() -> None:
    text = resources.files("store_hub.demo").joinpath("data/offer_rules.yaml").read_text("utf-8")
    policy = load_policy(text, "offer_rules.yaml")
    first = policy.rules[0]
    assert (first.id, first.enabled, first.trigger.kind) == ("arrival-cart-10", True, "arrived")
    assert (first.offer.kind, first.offer.percent_off, first.offer.scope) == ("percent", 10, "item")
    assert first.offer.item_from == ("cart", "wishlist")
    assert first.offer.validity == timedelta(hours=2)
    assert first.holdout_share == 0
    assert [r.enabled for r in policy.rules[1:]] == [False] * (len(policy.rules) - 1)
    assert parse_policy(json.loads(json.dumps(dump_policy(policy)))) == policy


def test_unknown_document_and_rule_keys_are_refused() -> None:
    assert "rules.yaml: rulez is not a known key (did you mean 'rules'?)" in problems(
        {"default_locale": "en", "rules": [], "rulez": []}
    )
    assert one_problem(doc(rule(holdout=0.1))).startswith(
        "rules.yaml: rule 'cart-10': holdout is not a known key (did you mean 'holdout_share'?)"
    )


def test_a_rule_that_is_not_a_mapping_says_so() -> None:
    assert one_problem(doc("cart-10")) == (  # type: ignore[arg-type]
        "rules.yaml: rule #1: a rule must be a mapping with keys id, description, enabled, "
        "trigger, conditions, offer, budget, holdout_share (got 'cart-10')"
    )
