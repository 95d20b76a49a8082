"""The offer policy as values: courtesy limits and declarative rules (pure, frozen).

Built by `offer_rules_load.parse_policy` from YAML or JSON and turned back into the same
JSON-compatible structure by `to_dict`, so an admin API can return and accept one document.
Rules are evaluated in the order they are listed: earlier rules win when caps allow only one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from store_hub.domain.money import Money
from store_hub.domain.quiet_hours import LocalWindow

TriggerKind = Literal[
    "arrived",
    "zone_dwell",
    "wishlist_in_stock_here",
    "cart_item_in_stock_here",
    "returning_after_days",
    # Not a rule trigger (absent from TRIGGER_KINDS): an associate sending a template by hand.
    "associate",
]
TRIGGER_KINDS: tuple[TriggerKind, ...] = (
    "arrived",
    "zone_dwell",
    "wishlist_in_stock_here",
    "cart_item_in_stock_here",
    "returning_after_days",
)
Scope = Literal["item", "category", "basket"]
Source = Literal["cart", "wishlist"]
DiscountKind = Literal["percent", "amount"]
CONSENTS = ("presence", "offers", "associate_view")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()


@dataclass(frozen=True)
class Trigger:
    """What makes a rule consider a shopper; `zone`/`seconds`/`days` only where they apply."""

    kind: TriggerKind
    zone: str | None = None
    seconds: int | None = None
    days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: {kind: {parameters}}."""
        params: dict[str, Any] = {}
        if self.kind == "zone_dwell":
            params = {"zone": self.zone, "seconds": self.seconds}
        elif self.kind == "returning_after_days":
            params = {"days": self.days}
        return {self.kind: params}


@dataclass(frozen=True)
class Conditions:
    """Who and when a rule applies to; an empty set means 'no restriction'."""

    segments_any_of: frozenset[str] = frozenset()
    segments_all_of: frozenset[str] = frozenset()
    segments_none_of: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    consents: frozenset[str] = frozenset()
    stores: frozenset[str] = frozenset()
    time_of_day: LocalWindow | None = None
    weekdays: frozenset[int] = frozenset()  # 0 = Monday, in the store's local time

    def to_dict(self) -> dict[str, Any]:
        """JSON form, sets as sorted lists (weekdays Monday first)."""
        return {
            "segments": {
                "any_of": sorted(self.segments_any_of),
                "all_of": sorted(self.segments_all_of),
                "none_of": sorted(self.segments_none_of),
            },
            "tiers": sorted(self.tiers),
            "consents": sorted(self.consents),
            "stores": sorted(self.stores),
            "time_of_day": None if self.time_of_day is None else self.time_of_day.to_dict(),
            "weekdays": [WEEKDAYS[d] for d in sorted(self.weekdays)],
        }


@dataclass(frozen=True)
class Message:
    """The push notification's title and body in one locale, with placeholders."""

    title: str
    body: str


@dataclass(frozen=True)
class OfferTemplate:
    """The offer a rule makes, before it is made concrete for one shopper."""

    kind: DiscountKind
    scope: Scope
    validity: timedelta
    messages: tuple[tuple[str, Message], ...]  # (locale, message); the default locale included
    percent_off: int | None = None
    amount_off: Money | None = None
    category: str | None = None  # scope "category" only
    item_from: tuple[Source, ...] = ("cart", "wishlist")  # scope "item": sources, preferred first
    in_stock_only: bool = False  # scope "item": only items in stock in this store
    max_discount: Money | None = None  # required for percent off a category or basket
    min_spend: Money | None = None

    def message_for(self, locale: str | None, default_locale: str) -> tuple[str, Message]:
        """The message in `locale` if the rule has it, else in the default locale."""
        by_locale = dict(self.messages)
        for candidate in (locale, (locale or "").split("-")[0], default_locale):
            if candidate and candidate in by_locale:
                return candidate, by_locale[candidate]
        raise KeyError(f"no message in {default_locale!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form; money as {'amount': '5.00', 'currency': 'GBP'}."""
        out: dict[str, Any] = {}
        if self.kind == "percent":
            out["percent_off"] = self.percent_off
        else:
            out["amount_off"] = None if self.amount_off is None else self.amount_off.to_dict()
        out["scope"] = self.scope
        if self.scope == "category":
            out["category"] = self.category
        if self.scope == "item":
            out["item_from"] = list(self.item_from)
            out["in_stock_only"] = self.in_stock_only
        out["max_discount"] = None if self.max_discount is None else self.max_discount.to_dict()
        out["min_spend"] = None if self.min_spend is None else self.min_spend.to_dict()
        out["validity_minutes"] = int(self.validity.total_seconds()) // 60
        out["message"] = {locale: {"title": m.title, "body": m.body} for locale, m in self.messages}
        return out


@dataclass(frozen=True)
class Budget:
    """What one rule may give away per store per local day; None means unlimited."""

    offers_per_day: int | None = None
    money_per_day: Money | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "offers_per_day": self.offers_per_day,
            "money_per_day": None if self.money_per_day is None else self.money_per_day.to_dict(),
        }


@dataclass(frozen=True)
class OfferRule:
    """One declarative rule: trigger, conditions, offer, budget and holdout share."""

    id: str
    trigger: Trigger
    offer: OfferTemplate
    conditions: Conditions = Conditions()
    budget: Budget = Budget()
    holdout_share: Decimal = Decimal(0)
    enabled: bool = True
    description: str = ""

    @property
    def currency(self) -> str | None:
        """The one currency of the rule's fixed amounts, or None when it names no money."""
        for money in (
            self.offer.amount_off,
            self.offer.max_discount,
            self.offer.min_spend,
            self.budget.money_per_day,
        ):
            if money is not None:
                return money.currency
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, exactly what the loader accepts."""
        return {
            "id": self.id,
            "description": self.description,
            "enabled": self.enabled,
            "trigger": self.trigger.to_dict(),
            "conditions": self.conditions.to_dict(),
            "offer": self.offer.to_dict(),
            "budget": self.budget.to_dict(),
            # A string keeps the share exact through JSON; the loader takes numbers too.
            "holdout_share": str(self.holdout_share),
        }


# Decisions of templates are recorded under this prefix: rule ids cannot contain a colon, so a
# template's budget and report line never mix with a rule's of the same name.
TEMPLATE_RULE_PREFIX = "template:"


@dataclass(frozen=True)
class AssociateTemplate:
    """An offer an associate may send from the tablet: the rules' offer terms, no trigger."""

    id: str
    label: str  # what the associate picks from, e.g. "£5 off a basket of £40"
    offer: OfferTemplate
    budget: Budget = Budget()
    enabled: bool = True
    description: str = ""

    @property
    def rule_id(self) -> str:
        """The id its decisions and offers are recorded under."""
        return f"{TEMPLATE_RULE_PREFIX}{self.id}"

    def as_rule(self) -> OfferRule:
        """The template as a rule the decider can judge: no conditions and never held out.

        No holdout because the associate hands the offer over in person: holding a shopper out
        would have the associate promise an offer that never arrives, and the people an
        associate picks are not the population a rule's uplift is measured on.
        """
        return OfferRule(
            id=self.rule_id,
            trigger=Trigger("associate"),
            offer=self.offer,
            budget=self.budget,
            holdout_share=Decimal(0),
            enabled=self.enabled,
            description=self.label,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, exactly what the loader accepts."""
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "enabled": self.enabled,
            "offer": self.offer.to_dict(),
            "budget": self.budget.to_dict(),
        }


@dataclass(frozen=True)
class Courtesy:
    """Limits across all rules, so a shopper is never pestered; None means unlimited."""

    per_customer_per_visit: int | None = 1
    per_customer_per_day: int | None = 2
    per_store_per_day: int | None = None
    cooldown: timedelta = timedelta(minutes=30)
    quiet_hours: LocalWindow | None = None  # in the store's local time

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "per_customer_per_visit": self.per_customer_per_visit,
            "per_customer_per_day": self.per_customer_per_day,
            "per_store_per_day": self.per_store_per_day,
            "cooldown_minutes": int(self.cooldown.total_seconds()) // 60,
            "quiet_hours": None if self.quiet_hours is None else self.quiet_hours.to_dict(),
        }


@dataclass(frozen=True)
class OfferPolicy:
    """The whole offers document: default locale, courtesy limits, rules in priority order."""

    default_locale: str
    courtesy: Courtesy
    rules: tuple[OfferRule, ...]
    version: int = 1
    templates: tuple[AssociateTemplate, ...] = ()  # offers associates send by hand

    def rule(self, rule_id: str) -> OfferRule:
        """The rule called `rule_id`; KeyError if there is none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def template(self, template_id: str) -> AssociateTemplate:
        """The template called `template_id`; KeyError if there is none."""
        for template in self.templates:
            if template.id == template_id:
                return template
        raise KeyError(template_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form, which `parse_policy` turns back into an equal policy."""
        return {
            "version": self.version,
            "default_locale": self.default_locale,
            "courtesy": self.courtesy.to_dict(),
            "rules": [rule.to_dict() for rule in self.rules],
            "templates": [template.to_dict() for template in self.templates],
        }
