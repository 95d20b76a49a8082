"""Decide, per rule, whether a trigger sends a shopper an offer, and on what terms (pure).

For one trigger event the enabled rules are tried in policy order. A rule whose trigger does not
match, or that already sent or held this shopper out in this visit, yields nothing; every other
rule yields one recordable `Decision`. The checks run in this order, and the first that fails
is the reason:

  no_offers_consent -> conditions_not_met -> nothing_to_offer -> quiet_hours
  -> capped:visit / capped:day / cooldown / capped:store / capped:rule_budget_count
  / capped:rule_budget_money -> held_out -> sent

Holdout comes last on purpose: the holdout group is then exactly "eligible, and would have been
sent", the same population as those sent, which is what makes the uplift comparison fair. A
send counts against the caps of the rules after it in the same call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from store_hub.domain.holdout import is_held_out
from store_hub.domain.money import Money, round_money
from store_hub.domain.offer_caps import CapReason, OfferHistory, cap_reason
from store_hub.domain.offer_messages import render
from store_hub.domain.offer_rules import (
    AssociateTemplate,
    DiscountKind,
    OfferPolicy,
    OfferRule,
    Scope,
    Source,
    TriggerKind,
)
from store_hub.domain.quiet_hours import local_date, local_time

EventKind = Literal["arrived", "zone_dwell", "associate"]
Outcome = Literal["send", "no_send"]
Reason = Literal[
    "sent",
    "no_offers_consent",
    "conditions_not_met",
    "nothing_to_offer",
    "quiet_hours",
    "held_out",
    CapReason,
]
# Triggers judged when the shopper arrives (once the online profile is in); zone_dwell is its own.
_ON_ARRIVAL = frozenset(
    {"arrived", "wishlist_in_stock_here", "cart_item_in_stock_here", "returning_after_days"}
)


def _aware(at: datetime, name: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class TriggerEvent:
    """Something presence noticed about a shopper in a visit: arrival or dwell in a zone."""

    kind: EventKind
    visit_id: str
    at: datetime
    zone: str | None = None
    dwell_seconds: float | None = None

    @classmethod
    def arrived(cls, visit_id: str, at: datetime) -> TriggerEvent:
        """The shopper walked in (presence's VisitStarted, after the profile fetch)."""
        return cls("arrived", visit_id, at)

    @classmethod
    def zone_dwell(cls, visit_id: str, at: datetime, zone: str, seconds: float) -> TriggerEvent:
        """The shopper has stayed `seconds` in `zone` (fusion's Dwell)."""
        return cls("zone_dwell", visit_id, at, zone, seconds)

    @classmethod
    def by_associate(cls, visit_id: str, at: datetime) -> TriggerEvent:
        """An associate chose to send the shopper an offer from a template."""
        return cls("associate", visit_id, at)


@dataclass(frozen=True)
class InterestItem:
    """An item the shopper wants online, and whether this store has it on the shelf."""

    sku: str
    name: str
    price: Money
    source: Source
    in_stock_here: bool
    category: str | None = None


@dataclass(frozen=True)
class Shopper:
    """What the hub knows about the shopper when deciding."""

    customer_id: str
    consents: frozenset[str]
    tier: str | None = None
    segments: frozenset[str] = frozenset()
    items: tuple[InterestItem, ...] = ()
    last_visit_at: datetime | None = None  # the previous visit's arrival, not this one's
    locale: str | None = None


@dataclass(frozen=True)
class Store:
    """The store deciding: its id and its local time zone."""

    store_id: str
    tz: ZoneInfo


@dataclass(frozen=True)
class Terms:
    """A concrete offer: what is off, on what, what it may cost at most, and until when."""

    rule_id: str
    kind: DiscountKind
    scope: Scope
    percent_off: int | None
    amount_off: Money | None
    sku: str | None
    item_name: str | None
    category: str | None
    original_price: Money | None
    discount: Money | None  # exact for an item; None for a category or basket (depends on it)
    liability: Money  # the most this offer can cost: what budgets count
    min_spend: Money | None
    locale: str
    title: str
    body: str
    issued_at: datetime
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON form: money as decimal strings, times ISO 8601."""

        def money(value: Money | None) -> dict[str, str] | None:
            return None if value is None else value.to_dict()

        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "scope": self.scope,
            "percent_off": self.percent_off,
            "amount_off": money(self.amount_off),
            "sku": self.sku,
            "item_name": self.item_name,
            "category": self.category,
            "original_price": money(self.original_price),
            "discount": money(self.discount),
            "liability": self.liability.to_dict(),
            "min_spend": money(self.min_spend),
            "locale": self.locale,
            "title": self.title,
            "body": self.body,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class Decision:
    """One rule's decision for one shopper and trigger, recorded whatever the outcome."""

    rule_id: str
    customer_id: str
    store_id: str
    visit_id: str
    trigger: TriggerKind
    outcome: Outcome
    reason: Reason
    decided_at: datetime
    terms: Terms | None = None  # for "sent", and for "held_out" (what would have been sent)
    detail: str = ""  # for people: which condition failed

    @property
    def eligible(self) -> bool:
        """True for sent and held out: the two groups uplift compares."""
        return self.reason in ("sent", "held_out")

    def to_record(self) -> dict[str, Any]:
        """JSON-compatible record of this decision, for the decisions table or a log."""
        return {
            "rule_id": self.rule_id,
            "customer_id": self.customer_id,
            "store_id": self.store_id,
            "visit_id": self.visit_id,
            "trigger": self.trigger,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
            "decided_at": self.decided_at.isoformat(),
            "terms": None if self.terms is None else self.terms.to_dict(),
        }


class OfferDecider:
    """Applies one offer policy; holds the hub's holdout secret, nothing else."""

    def __init__(self, policy: OfferPolicy, holdout_secret: bytes) -> None:
        """Decide with `policy`, holding out with HMAC keyed by `holdout_secret`."""
        self._policy = policy
        self._secret = holdout_secret

    @property
    def policy(self) -> OfferPolicy:
        """The policy in force."""
        return self._policy

    def decide(
        self,
        event: TriggerEvent,
        shopper: Shopper,
        store: Store,
        history: OfferHistory,
        now: datetime,
    ) -> tuple[Decision, ...]:
        """The decisions of every rule this event triggers, in policy order."""
        _aware(now, "now")
        if shopper.last_visit_at is not None:
            _aware(shopper.last_visit_at, "last_visit_at")
        decisions: list[Decision] = []
        for rule in self._policy.rules:
            if not rule.enabled or rule.id in history.rules_decided_this_visit:
                continue
            if not _trigger_matches(rule, event, shopper, store, now):
                continue
            decision = self._decide_rule(rule, event, shopper, store, history, now)
            decisions.append(decision)
            if decision.reason == "sent" and decision.terms is not None:
                history = history.after_send(rule.id, decision.terms.liability, now)
            elif decision.reason == "held_out":
                history = history.after_held_out(rule.id)
        return tuple(decisions)

    def decide_template(
        self,
        template: AssociateTemplate,
        event: TriggerEvent,
        shopper: Shopper,
        store: Store,
        history: OfferHistory,
        now: datetime,
    ) -> Decision:
        """An associate's offer from `template`, judged like a rule's: `offers` consent,
        something to offer, quiet hours, courtesy caps and cooldown, the template's budget.

        Never held out (`AssociateTemplate.as_rule`), and not skipped for a rule decided this
        visit: the courtesy caps are what stop a second offer in one visit.
        """
        _aware(now, "now")
        return self._decide_rule(template.as_rule(), event, shopper, store, history, now)

    def _decide_rule(
        self,
        rule: OfferRule,
        event: TriggerEvent,
        shopper: Shopper,
        store: Store,
        history: OfferHistory,
        now: datetime,
    ) -> Decision:
        def no(reason: Reason, terms: Terms | None = None, detail: str = "") -> Decision:
            return Decision(
                rule.id,
                shopper.customer_id,
                store.store_id,
                event.visit_id,
                rule.trigger.kind,
                "no_send",
                reason,
                now,
                terms,
                detail,
            )

        if "offers" not in shopper.consents:
            return no("no_offers_consent")
        failed = _failed_condition(rule, shopper, store, now)
        if failed:
            return no("conditions_not_met", detail=failed)
        terms = _terms(rule, self._policy.default_locale, shopper, now)
        if terms is None:
            return no("nothing_to_offer")
        quiet = self._policy.courtesy.quiet_hours
        if quiet is not None and quiet.contains(now, store.tz):
            return no("quiet_hours")
        capped = cap_reason(self._policy.courtesy, rule, history, terms.liability, now)
        if capped is not None:
            return no(capped)
        if is_held_out(self._secret, shopper.customer_id, rule.id, rule.holdout_share):
            return no("held_out", terms)
        return Decision(
            rule.id,
            shopper.customer_id,
            store.store_id,
            event.visit_id,
            rule.trigger.kind,
            "send",
            "sent",
            now,
            terms,
        )


def _trigger_matches(
    rule: OfferRule, event: TriggerEvent, shopper: Shopper, store: Store, now: datetime
) -> bool:
    trigger = rule.trigger
    if trigger.kind == "zone_dwell":
        return (
            event.kind == "zone_dwell"
            and event.zone == trigger.zone
            and event.dwell_seconds is not None
            and trigger.seconds is not None
            and event.dwell_seconds >= trigger.seconds
        )
    if event.kind != "arrived" or trigger.kind not in _ON_ARRIVAL:
        return False
    if trigger.kind == "wishlist_in_stock_here":
        return any(i.source == "wishlist" and i.in_stock_here for i in shopper.items)
    if trigger.kind == "cart_item_in_stock_here":
        return any(i.source == "cart" and i.in_stock_here for i in shopper.items)
    if trigger.kind == "returning_after_days":
        if shopper.last_visit_at is None or trigger.days is None:
            return False  # a first visit is not a return
        away = local_date(now, store.tz) - local_date(shopper.last_visit_at, store.tz)
        return away.days >= trigger.days
    return True


def _failed_condition(rule: OfferRule, shopper: Shopper, store: Store, now: datetime) -> str:
    """The first condition the shopper fails, or '' when all hold."""
    c = rule.conditions
    segments = shopper.segments
    if c.segments_any_of and not c.segments_any_of & segments:
        return "segments.any_of"
    if not c.segments_all_of <= segments:
        return "segments.all_of"
    if c.segments_none_of & segments:
        return "segments.none_of"
    if c.tiers and shopper.tier not in c.tiers:
        return "tiers"
    if not c.consents <= shopper.consents:
        return "consents"
    if c.stores and store.store_id not in c.stores:
        return "stores"
    if c.time_of_day is not None and not c.time_of_day.contains(now, store.tz):
        return "time_of_day"
    if c.weekdays and local_time(now, store.tz).weekday() not in c.weekdays:
        return "weekdays"
    return ""


def _pick_item(rule: OfferRule, shopper: Shopper) -> InterestItem | None:
    """The dearest eligible item of the first source that has one (ties broken by SKU)."""
    template = rule.offer
    currency = rule.currency
    in_stock_only = template.in_stock_only
    sources: tuple[Source, ...] = template.item_from
    if rule.trigger.kind == "cart_item_in_stock_here":
        sources, in_stock_only = ("cart",), True
    elif rule.trigger.kind == "wishlist_in_stock_here":
        sources, in_stock_only = ("wishlist",), True
    for source in sources:
        pool = [
            item
            for item in shopper.items
            if item.source == source
            and (item.in_stock_here or not in_stock_only)
            # An offer's fixed amounts are in one currency; an item priced in another cannot
            # be compared with them (nor counted against the budget).
            and (currency is None or item.price.currency == currency)
        ]
        if pool:
            return max(pool, key=lambda i: (i.price.amount, i.sku))
    return None


def _terms(rule: OfferRule, default_locale: str, shopper: Shopper, now: datetime) -> Terms | None:
    """The concrete offer of `rule` for this shopper, or None when it has nothing to offer."""
    template = rule.offer
    item = _pick_item(rule, shopper) if template.scope == "item" else None
    if template.scope == "item" and item is None:
        return None
    discount: Money | None = None
    if item is not None:
        if template.kind == "percent" and template.percent_off is not None:
            exact = item.price.amount * template.percent_off / 100
            discount = Money(round_money(exact, item.price.currency), item.price.currency)
            if template.max_discount is not None:
                discount = discount.min(template.max_discount)
        elif template.amount_off is not None:
            # Never more off than the item costs.
            discount = template.amount_off.min(item.price)
        liability = discount
    else:
        # A category or basket discount depends on the basket: the template's bound is the cost.
        liability = template.amount_off if template.kind == "amount" else template.max_discount
    if liability is None or liability.amount <= 0:
        return None
    values = {
        "percent": str(template.percent_off),
        "amount": template.amount_off.format() if template.amount_off else "",
        "item_name": item.name if item else "",
        "category": template.category or "",
        "min_spend": template.min_spend.format() if template.min_spend else "",
    }
    locale, message = template.message_for(shopper.locale, default_locale)
    return Terms(
        rule_id=rule.id,
        kind=template.kind,
        scope=template.scope,
        percent_off=template.percent_off,
        amount_off=template.amount_off,
        sku=item.sku if item else None,
        item_name=item.name if item else None,
        category=template.category,
        original_price=item.price if item else None,
        discount=discount,
        liability=liability,
        min_spend=template.min_spend,
        locale=locale,
        title=render(message.title, values),
        body=render(message.body, values),
        issued_at=now,
        expires_at=now + template.validity,
    )
