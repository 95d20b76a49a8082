from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from store_hub.domain.offer_caps import OfferHistory, RuleUsage, cap_reason
from store_hub.domain.offer_decision import TriggerEvent

from .test_offer_support import ARRIVED, NOW, decide, gbp, only, policy, rule

# The demo-like rule offers 10 % off the Wool coat: a liability of 22.00.
LIABILITY = gbp("22.00")


def reason(history: OfferHistory, now: datetime = NOW, **courtesy: object) -> str:
    p = policy(rule(budget={"offers_per_day": 5, "money_per_day": {"amount": "100.00",
                                                                     "currency": "GBP"}}),
               **courtesy)  # fmt: skip
    return only(decide(p, history=history, now=now)).reason


def test_per_visit_cap() -> None:
    assert reason(OfferHistory(customer_sent_this_visit=1), per_customer_per_visit=1) == (
        "capped:visit"
    )
    assert reason(OfferHistory(customer_sent_this_visit=1), per_customer_per_visit=2) == "sent"
    assert reason(OfferHistory(customer_sent_this_visit=0), per_customer_per_visit=1) == "sent"


def test_per_day_cap() -> None:
    assert reason(OfferHistory(customer_sent_today=2), per_customer_per_day=2) == "capped:day"
    assert reason(OfferHistory(customer_sent_today=1), per_customer_per_day=2) == "sent"


def test_cooldown_between_any_two_offers_spans_midnight() -> None:
    def at(minutes_ago: float) -> OfferHistory:
        return OfferHistory(customer_last_sent_at=NOW - timedelta(minutes=minutes_ago))

    assert reason(at(29.9), cooldown_minutes=30) == "cooldown"
    assert reason(at(30), cooldown_minutes=30) == "sent"
    assert reason(at(1), cooldown_minutes=0) == "sent"
    # Sent at 23:50 London time; two minutes past midnight is a new day but still cooling down.
    just_after_midnight = datetime(2026, 11, 25, 0, 2, tzinfo=UTC)
    history = OfferHistory(customer_last_sent_at=datetime(2026, 11, 24, 23, 50, tzinfo=UTC))
    assert reason(history, now=just_after_midnight, cooldown_minutes=30) == "cooldown"


def test_per_store_cap() -> None:
    assert reason(OfferHistory(store_sent_today=50), per_store_per_day=50) == "capped:store"
    assert reason(OfferHistory(store_sent_today=49), per_store_per_day=50) == "sent"


def test_rule_budget_count() -> None:
    used = OfferHistory(rule_usage_today={"r1": RuleUsage(5, gbp("30.00"))})
    assert reason(used) == "capped:rule_budget_count"
    other_rule = OfferHistory(rule_usage_today={"r2": RuleUsage(5, gbp("30.00"))})
    assert reason(other_rule) == "sent"


def test_rule_budget_money_to_the_cent() -> None:
    # Budget 100.00: 78.00 spent + 22.00 is exactly the budget, allowed; one cent more is not.
    assert reason(OfferHistory(rule_usage_today={"r1": RuleUsage(4, gbp("78.00"))})) == "sent"
    assert reason(OfferHistory(rule_usage_today={"r1": RuleUsage(4, gbp("78.01"))})) == (
        "capped:rule_budget_money"
    )


def test_quiet_hours_in_store_local_time() -> None:
    quiet = {"start": "21:00", "end": "09:00"}
    # NOW is 10:00 in London (winter): not quiet; 08:30 is.
    assert reason(OfferHistory(), quiet_hours=quiet) == "sent"
    morning = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    assert reason(OfferHistory(), now=morning, quiet_hours=quiet) == "quiet_hours"
    # In summer 08:30 UTC is 09:30 in London: the window has ended.
    summer = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
    assert reason(OfferHistory(), now=summer, quiet_hours=quiet) == "sent"


def test_sends_in_one_call_count_against_the_next_rules() -> None:
    p = policy(rule("a"), rule("b"), rule("c"), per_customer_per_visit=2)
    a, b, c = decide(p)
    assert (a.reason, b.reason, c.reason) == ("sent", "sent", "capped:visit")
    p = policy(rule("a"), rule("b"), cooldown_minutes=30)
    assert [d.reason for d in decide(p)] == ["sent", "cooldown"]


def test_once_sent_a_rule_is_not_decided_again_in_the_visit() -> None:
    p = policy(rule(trigger={"zone_dwell": {"zone": "denim", "seconds": 60}}))
    first = only(decide(p, event=TriggerEvent.zone_dwell("v1", NOW, "denim", 60)))
    history = OfferHistory().after_send("r1", LIABILITY, NOW)
    later = TriggerEvent.zone_dwell("v1", NOW + timedelta(minutes=5), "denim", 300)
    assert first.reason == "sent"
    assert decide(p, event=later, history=history) == ()


def test_history_is_immutable_and_after_send_adds_up() -> None:
    history = OfferHistory(rule_usage_today={"r1": RuleUsage(1, gbp("10.00"))})
    assert isinstance(history.rule_usage_today, MappingProxyType)
    with pytest.raises(TypeError):
        history.rule_usage_today["r1"] = RuleUsage()  # type: ignore[index]
    after = history.after_send("r1", LIABILITY, NOW).after_send("r2", LIABILITY, NOW)
    assert after.usage("r1") == RuleUsage(2, gbp("32.00"))
    assert after.usage("r2") == RuleUsage(1, LIABILITY)
    assert (after.customer_sent_this_visit, after.customer_sent_today) == (2, 2)
    assert (after.store_sent_today, after.customer_last_sent_at) == (2, NOW)
    assert after.rules_decided_this_visit == {"r1", "r2"}
    assert history.usage("r1") == RuleUsage(1, gbp("10.00"))  # the original is unchanged
    assert OfferHistory().after_held_out("r9").customer_sent_today == 0


def test_cap_reason_is_none_when_nothing_limits() -> None:
    p = policy()
    assert cap_reason(p.courtesy, p.rules[0], OfferHistory(), LIABILITY, NOW) is None
    assert ARRIVED.kind == "arrived"
