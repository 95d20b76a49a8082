"""Caps and cool-down on offers, from a small summary of what was already sent (pure).

The summary (`OfferHistory`) is what the caller reads from the recorded decisions before
deciding; each field is one obvious query over decisions with outcome "send", "today" being the
store's local day (`quiet_hours.local_day_bounds`):

- customer_sent_this_visit: count where customer_id = ? and visit_id = ?
- customer_sent_today:      count where customer_id = ? and decided_at in today
- customer_last_sent_at:    max(decided_at) where customer_id = ?  (any day: the cool-down
                            spans midnight)
- store_sent_today:         count where store_id = ? and decided_at in today
- rule_usage_today:         count, sum(liability) where store_id = ? and decided_at in today
                            group by rule_id
- rules_decided_this_visit: distinct rule_id where visit_id = ? and (outcome = "send" or
                            reason = "held_out")

Only sends count against caps: a held-out shopper was given nothing, so holding them out must
not change what they may be offered next (else the holdout group would be treated differently
from the treatment group in more ways than the one offer being measured).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from store_hub.domain.money import Money
from store_hub.domain.offer_rules import Courtesy, OfferRule

CapReason = Literal[
    "capped:visit",
    "capped:day",
    "cooldown",
    "capped:store",
    "capped:rule_budget_count",
    "capped:rule_budget_money",
]


@dataclass(frozen=True)
class RuleUsage:
    """What one rule has given away in this store today: offers sent and their liability."""

    offers: int = 0
    liability: Money | None = None  # None until the first offer; then in the rule's currency


@dataclass(frozen=True)
class OfferHistory:
    """What caps need about offers already sent, as the caller read it from the decisions."""

    customer_sent_this_visit: int = 0
    customer_sent_today: int = 0
    customer_last_sent_at: datetime | None = None
    store_sent_today: int = 0
    rule_usage_today: Mapping[str, RuleUsage] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    rules_decided_this_visit: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Freeze the usage mapping so the summary stays immutable."""
        object.__setattr__(self, "rule_usage_today", MappingProxyType(dict(self.rule_usage_today)))

    def usage(self, rule_id: str) -> RuleUsage:
        """Today's usage of `rule_id` (nothing yet if it has not sent today)."""
        return self.rule_usage_today.get(rule_id, RuleUsage())

    def after_send(self, rule_id: str, liability: Money, at: datetime) -> OfferHistory:
        """The summary once one more offer of `rule_id`, worth at most `liability`, is sent."""
        usage = self.usage(rule_id)
        spent = liability if usage.liability is None else usage.liability + liability
        return replace(
            self,
            customer_sent_this_visit=self.customer_sent_this_visit + 1,
            customer_sent_today=self.customer_sent_today + 1,
            customer_last_sent_at=at,
            store_sent_today=self.store_sent_today + 1,
            rule_usage_today={**self.rule_usage_today, rule_id: RuleUsage(usage.offers + 1, spent)},
            rules_decided_this_visit=self.rules_decided_this_visit | {rule_id},
        )

    def after_held_out(self, rule_id: str) -> OfferHistory:
        """The summary once this customer is held out of `rule_id` in this visit."""
        return replace(self, rules_decided_this_visit=self.rules_decided_this_visit | {rule_id})


def cap_reason(
    courtesy: Courtesy, rule: OfferRule, history: OfferHistory, liability: Money, now: datetime
) -> CapReason | None:
    """Why sending one more offer of `rule` costing up to `liability` is not allowed, or None."""
    if (
        courtesy.per_customer_per_visit is not None
        and history.customer_sent_this_visit >= courtesy.per_customer_per_visit
    ):
        return "capped:visit"
    if (
        courtesy.per_customer_per_day is not None
        and history.customer_sent_today >= courtesy.per_customer_per_day
    ):
        return "capped:day"
    if (
        history.customer_last_sent_at is not None
        and now - history.customer_last_sent_at < courtesy.cooldown
    ):
        return "cooldown"
    if (
        courtesy.per_store_per_day is not None
        and history.store_sent_today >= courtesy.per_store_per_day
    ):
        return "capped:store"
    usage = history.usage(rule.id)
    budget = rule.budget
    if budget.offers_per_day is not None and usage.offers >= budget.offers_per_day:
        return "capped:rule_budget_count"
    if budget.money_per_day is not None:
        spent = usage.liability or liability.zero()
        # Would this offer take the day's liability over budget? Equal to the budget is allowed.
        if not spent + liability <= budget.money_per_day:
            return "capped:rule_budget_money"
    return None
