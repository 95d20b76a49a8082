"""Offer templates that associates send by hand: validated like rules, decided through the same
caps, never held out."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from typing import Any

import pytest

from store_hub.domain.offer_caps import OfferHistory
from store_hub.domain.offer_decision import OfferDecider, TriggerEvent
from store_hub.domain.offer_refusals import refusal_message
from store_hub.domain.offer_rules import Courtesy, OfferPolicy
from store_hub.domain.offer_rules_load import RulesError, load_policy, parse_policy, policy_to_yaml
from store_hub.domain.quiet_hours import LocalWindow, parse_hhmm
from store_hub.operations.associate_offers import summary

from .test_offer_support import NOW, SECRET, STORE, gbp, rule, shopper

BY_HAND = TriggerEvent.by_associate("v1", NOW)


def template(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "basket-5",
        "label": "£5 off a spend of £40",
        "offer": {
            "amount_off": {"amount": "5.00", "currency": "GBP"},
            "scope": "basket",
            "min_spend": {"amount": "40.00", "currency": "GBP"},
            "validity_minutes": 60,
            "message": {"en": {"title": "{amount} off", "body": "Spend {min_spend}"}},
        },
    }
    base.update(overrides)
    return base


def doc(*templates: dict[str, Any], **courtesy: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "per_customer_per_visit": None,
        "per_customer_per_day": None,
        "cooldown_minutes": 0,
        "quiet_hours": None,
    }
    settings.update(courtesy)
    return {
        "default_locale": "en",
        "courtesy": settings,
        "rules": [rule()],
        "templates": list(templates) or [template()],
    }


def problems(data: Any) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_policy(data, "rules.yaml")
    return list(caught.value.problems)


# -- validation ---------------------------------------------------------------------------------


def test_templates_parse_and_round_trip_through_json_and_yaml() -> None:
    policy = parse_policy(doc(template(), template(id="item-15", label="15% off", offer={
        "percent_off": 15, "scope": "item", "validity_minutes": 120,
        "message": {"en": {"title": "{percent}% off {item_name}", "body": "Today"}},
    })))  # fmt: skip
    assert [t.id for t in policy.templates] == ["basket-5", "item-15"]
    first = policy.template("basket-5")
    assert first.offer.amount_off == gbp("5.00") and first.offer.min_spend == gbp("40.00")
    assert first.rule_id == "template:basket-5"
    assert parse_policy(policy.to_dict()) == policy
    assert load_policy(policy_to_yaml(policy)) == policy


def test_templates_are_optional_and_default_to_none() -> None:
    data = doc()
    del data["templates"]
    assert parse_policy(data).templates == ()
    assert parse_policy(data).to_dict()["templates"] == []


def test_demo_rules_have_templates_associates_can_pick() -> None:
    text = resources.files("store_hub.demo").joinpath("data/offer_rules.yaml").read_text("utf-8")
    policy = load_policy(text)
    assert len(policy.templates) >= 2
    assert all(t.enabled and t.label for t in policy.templates)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": "Bad Id"}, "rules.yaml: template #1: id must look like"),
        ({"id": "x" * 56}, "rules.yaml: template #1: id must look like"),
        ({"label": ""}, "template 'basket-5': label must be a non-empty text of at most 80"),
        ({"label": "y" * 81}, "template 'basket-5': label must be a non-empty text"),
        ({"enabled": "yes"}, "template 'basket-5': enabled must be true or false"),
        ({"trigger": "arrived"}, "template 'basket-5': trigger is not a known key"),
        ({"holdout_share": 0.1}, "template 'basket-5': holdout_share is not a known key"),
        ({"budget": {"offers_per_day": 0}}, "budget.offers_per_day must be a whole number"),
    ],
)
def test_a_bad_template_key_is_named_with_the_fix(change: dict[str, Any], expected: str) -> None:
    found = problems(doc(template(**change)))
    assert any(expected in p for p in found), found


def test_template_offer_block_is_checked_like_a_rules() -> None:
    bad = template()
    bad["offer"] = {**bad["offer"], "percent_off": 10}  # both percent and amount
    wrong_locale = template(id="t2")
    wrong_locale["offer"] = {
        **wrong_locale["offer"],
        "message": {"de": {"title": "x", "body": "y"}},
    }
    found = problems(doc(bad, wrong_locale))
    assert "rules.yaml: template 'basket-5': offer must have exactly one of percent_off or " in (
        "\n".join(found)
    )
    assert any(
        "template 't2': offer.message must include the default locale 'en'" in p for p in found
    )


def test_template_missing_keys_duplicates_and_currencies_are_refused() -> None:
    missing = problems(doc({"id": "t1"}))
    assert "rules.yaml: template 't1': .label is required" in missing[0] or any(
        "label is required" in p for p in missing
    )
    assert any("offer is required" in p for p in missing)
    twice = problems(doc(template(), template()))
    assert any("templates[1].id 'basket-5' is used twice" in p for p in twice)
    mixed = template(budget={"money_per_day": {"amount": "100.00", "currency": "EUR"}})
    assert any("must use one currency" in p for p in problems(doc(mixed)))
    assert any("templates must be a list" in p for p in problems({**doc(), "templates": {}}))


def test_every_problem_in_rules_and_templates_is_reported_at_once() -> None:
    data = doc(template(label=""), template(id="t2", offer={"scope": "moon"}))
    data["rules"] = [rule(holdout_share=2)]
    found = problems(data)
    assert any("rule 'r1': holdout_share" in p for p in found)
    assert any("template 'basket-5': label" in p for p in found)
    assert any("template 't2': offer" in p for p in found)


# -- deciding -----------------------------------------------------------------------------------


def decider(**courtesy: Any) -> tuple[OfferDecider, OfferPolicy]:
    # A rule holding everyone out proves the template is not held out by the rules' holdout.
    data = doc(**courtesy)
    data["rules"] = [rule(holdout_share="0.5")]
    policy = parse_policy(data)
    return OfferDecider(policy, SECRET), policy


def test_a_template_is_sent_with_its_terms_and_recorded_as_associate() -> None:
    d, policy = decider()
    decision = d.decide_template(
        policy.templates[0], BY_HAND, shopper(), STORE, OfferHistory(), NOW
    )
    assert (decision.outcome, decision.reason) == ("send", "sent")
    assert (decision.rule_id, decision.trigger) == ("template:basket-5", "associate")
    assert decision.terms is not None
    assert decision.terms.liability == gbp("5.00")
    assert decision.terms.title == "£5.00 off"
    assert decision.terms.expires_at == NOW + timedelta(minutes=60)


def test_a_template_goes_through_consent_quiet_hours_and_caps() -> None:
    d, policy = decider(cooldown_minutes=30, per_customer_per_visit=1)
    t = policy.templates[0]
    no_consent = shopper(consents=frozenset({"presence", "associate_view"}))
    assert d.decide_template(t, BY_HAND, no_consent, STORE, OfferHistory(), NOW).reason == (
        "no_offers_consent"
    )
    just_sent = OfferHistory(customer_last_sent_at=NOW - timedelta(minutes=10))
    assert d.decide_template(t, BY_HAND, shopper(), STORE, just_sent, NOW).reason == "cooldown"
    this_visit = OfferHistory(customer_sent_this_visit=1)
    assert d.decide_template(t, BY_HAND, shopper(), STORE, this_visit, NOW).reason == (
        "capped:visit"
    )
    quiet_d, quiet_policy = decider(quiet_hours={"start": "09:00", "end": "11:00"})
    quiet = quiet_d.decide_template(
        quiet_policy.templates[0], BY_HAND, shopper(), STORE, OfferHistory(), NOW
    )
    assert quiet.reason == "quiet_hours"


def test_a_template_budget_caps_only_that_template() -> None:
    d, _ = decider()
    t = parse_policy(doc(template(budget={"offers_per_day": 1}))).templates[0]
    used = OfferHistory().after_send("template:basket-5", gbp("5.00"), NOW - timedelta(hours=1))
    assert d.decide_template(t, BY_HAND, shopper(), STORE, used, NOW).reason == (
        "capped:rule_budget_count"
    )
    other = OfferHistory().after_send("basket-5", gbp("5.00"), NOW - timedelta(hours=1))
    assert d.decide_template(t, BY_HAND, shopper(), STORE, other, NOW).reason == "sent"


def test_an_item_template_needs_an_item_to_apply_to() -> None:
    data = doc(template(offer={
        "percent_off": 15, "scope": "item", "validity_minutes": 60,
        "message": {"en": {"title": "{percent}% off {item_name}", "body": "Today"}},
    }))  # fmt: skip
    policy = parse_policy(data)
    d = OfferDecider(policy, SECRET)
    empty = shopper(items=())
    decision = d.decide_template(policy.templates[0], BY_HAND, empty, STORE, OfferHistory(), NOW)
    assert decision.reason == "nothing_to_offer"


# -- words for the associate --------------------------------------------------------------------


def test_refusals_read_as_sentences_with_the_store_settings() -> None:
    courtesy = Courtesy(
        per_customer_per_visit=1,
        per_customer_per_day=2,
        cooldown=timedelta(minutes=30),
        quiet_hours=LocalWindow(parse_hhmm("21:00"), parse_hhmm("08:00")),
    )
    assert refusal_message("cooldown", courtesy) == (
        "Already sent an offer in the last 30 minutes."
    )
    assert refusal_message("capped:visit", courtesy) == (
        "Already sent this shopper 1 offer in this visit, the most allowed."
    )
    assert refusal_message("quiet_hours", courtesy) == (
        "Quiet hours: no offers between 21:00 and 08:00."
    )
    assert "not agreed to receive offers" in refusal_message("no_offers_consent", courtesy)
    assert refusal_message("something-new", courtesy) == "The offer could not be sent."


def test_summary_says_what_is_off_on_what_and_for_how_long() -> None:
    policy = parse_policy(doc())
    assert summary(policy.templates[0].offer) == (
        "£5.00 off the basket · min. spend £40.00 · valid 1 h"
    )
