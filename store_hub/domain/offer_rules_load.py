"""Load and validate the offer policy from YAML text or a JSON-like structure (pure).

Every problem is reported at once, each naming the rule, the key and the fix, e.g.
`rules.yaml: rule 'cart-10': trigger.zone_dwell.seconds must be a whole number of seconds
between 10 and 86400 (got 'soon')`. Unknown keys are errors (a misspelt key would otherwise be
silently ignored and money given away), and so are duplicate keys in YAML. The caller reads the
file; this module only sees text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar, cast

import yaml

from store_hub.domain.money import Money
from store_hub.domain.offer_messages import allowed_for, placeholders_in
from store_hub.domain.offer_rules import (
    CONSENTS,
    TEMPLATE_RULE_PREFIX,
    TRIGGER_KINDS,
    WEEKDAYS,
    AssociateTemplate,
    Budget,
    Conditions,
    Courtesy,
    DiscountKind,
    Message,
    OfferPolicy,
    OfferRule,
    OfferTemplate,
    Scope,
    Source,
    Trigger,
    TriggerKind,
)
from store_hub.domain.quiet_hours import LocalWindow, parse_hhmm


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_Named = TypeVar("_Named", bound=_HasId)

_RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# Short enough that "template:" + id fits the decisions' 64-character rule id.
_TEMPLATE_ID = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{63 - len(TEMPLATE_RULE_PREFIX)}}}")
_MAX_LABEL = 80
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")
_MAX_TEXT = 500


class RulesError(ValueError):
    """The policy is invalid; `problems` lists every problem found, one sentence each."""

    def __init__(self, problems: Sequence[str]) -> None:
        """Keep the problems; the message is all of them, one per line."""
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (the last would silently win)."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, list | dict):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice; keep one", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_policy(text: str, source: str = "rules.yaml") -> OfferPolicy:
    """The policy in YAML `text`; RulesError naming `source` when it is not valid."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RulesError([f"{source}: {where}not valid YAML: {error.problem}"]) from None
    except yaml.YAMLError as error:
        raise RulesError([f"{source}: not valid YAML: {error}"]) from None
    return parse_policy(data, source)


def parse_policy(data: object, source: str = "offer policy") -> OfferPolicy:
    """The policy in a JSON-like structure (what `OfferPolicy.to_dict` returns)."""
    reader = _Reader(source)
    policy = reader.policy(data)
    if reader.errors or policy is None:
        raise RulesError(reader.errors or [f"{source}: empty document"])
    return policy


def dump_policy(policy: OfferPolicy) -> dict[str, Any]:
    """JSON-compatible form of `policy`, accepted back by `parse_policy`."""
    return policy.to_dict()


def policy_to_yaml(policy: OfferPolicy) -> str:
    """`policy` as YAML text in the same structure the loader reads."""
    return yaml.safe_dump(policy.to_dict(), sort_keys=False, allow_unicode=True)


def _got(value: object) -> str:
    return f"(got {value!r})"


def _mixed_currencies(rule: OfferRule) -> str:
    """The problem when a rule's amounts are in more than one currency, else ''."""
    currencies = {
        m.currency
        for m in (
            rule.offer.amount_off,
            rule.offer.max_discount,
            rule.offer.min_spend,
            rule.budget.money_per_day,
        )
        if m is not None
    }
    if len(currencies) > 1:
        return f"must use one currency for all amounts {_got(sorted(currencies))}"
    return ""


class _Reader:
    """Reads one document, collecting problems instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []
        self.where = ""

    def fail(self, key: str, problem: str) -> None:
        prefix = f"{self.source}: {self.where}: " if self.where else f"{self.source}: "
        self.errors.append(f"{prefix}{key} {problem}")

    # -- shapes ----------------------------------------------------------------------------

    def mapping(
        self,
        key: str,
        value: object,
        known: Sequence[str],
        required: Sequence[str] = (),
        label: str = "",
    ) -> dict[str, Any] | None:
        label = label or key or "the document"
        if not isinstance(value, Mapping):
            self.fail(label, f"must be a mapping with keys {', '.join(known)} {_got(value)}")
            return None
        ok = True
        for name in value:
            if name not in known:
                ok = False
                close = difflib.get_close_matches(str(name), known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
                self.fail(f"{key}.{name}" if key else str(name), f"is not a known key ({hint})")
        for name in required:
            if name not in value:
                ok = False
                self.fail(f"{key}.{name}" if key else name, "is required")
        return dict(value) if ok else None

    def integer(self, key: str, value: object, low: int, high: int, unit: str = "") -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        what = f"a whole number of {unit}" if unit else "a whole number"
        self.fail(key, f"must be {what} between {low} and {high} {_got(value)}")
        return None

    def optional_integer(
        self, key: str, value: object, low: int, high: int, unit: str = ""
    ) -> int | None:
        if value is None:
            return None
        # Invalid values are recorded as errors; None then stands in until the caller bails.
        return self.integer(key, value, low, high, unit)

    def boolean(self, key: str, value: object) -> bool | None:
        if isinstance(value, bool):
            return value
        self.fail(key, f"must be true or false {_got(value)}")
        return None

    def text(self, key: str, value: object, pattern: re.Pattern[str] | None = None) -> str | None:
        if isinstance(value, str) and value.strip() and len(value) <= _MAX_TEXT:
            if pattern is None or pattern.fullmatch(value):
                return value
            self.fail(key, f"must look like {pattern.pattern!r} {_got(value)}")
            return None
        self.fail(key, f"must be a non-empty text of at most {_MAX_TEXT} characters {_got(value)}")
        return None

    def names(
        self, key: str, value: object, choices: Sequence[str] | None = None
    ) -> frozenset[str] | None:
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, f"must be a list of names, e.g. [a, b] {_got(value)}")
            return None
        if choices is not None:
            wrong = [v for v in value if v not in choices]
            if wrong:
                self.fail(key, f"may only contain {', '.join(choices)} {_got(wrong)}")
                return None
        return frozenset(value)

    def money(self, key: str, value: object, *, optional: bool = True) -> Money | None:
        if value is None and optional:
            return None
        shape = self.mapping(key, value, ("amount", "currency"), ("amount", "currency"))
        if shape is None:
            return None
        amount, currency = shape["amount"], shape["currency"]
        if isinstance(amount, float):
            self.fail(
                f"{key}.amount",
                f"must be a quoted decimal such as '5.00', so no binary rounding creeps in "
                f"{_got(amount)}",
            )
            return None
        try:
            money = Money.parse(amount, currency)
        except (ValueError, TypeError) as error:
            self.fail(key, f"is not valid money: {error}")
            return None
        if money.amount <= 0:
            self.fail(f"{key}.amount", f"must be more than zero {_got(amount)}")
            return None
        return money

    def window(self, key: str, value: object) -> LocalWindow | None:
        if value is None:
            return None
        shape = self.mapping(key, value, ("start", "end"), ("start", "end"))
        if shape is None:
            return None
        ends = {}
        for name in ("start", "end"):
            raw = shape[name]
            if isinstance(raw, int) and not isinstance(raw, bool):
                # YAML 1.1 reads an unquoted 10:00 as the base-60 number 600.
                self.fail(f"{key}.{name}", f"must be quoted, e.g. '10:00' {_got(raw)}")
                continue
            try:
                if not isinstance(raw, str):
                    raise ValueError(raw)
                ends[name] = parse_hhmm(raw)
            except ValueError:
                self.fail(f"{key}.{name}", f"must be a 24-hour time 'HH:MM' {_got(raw)}")
        if len(ends) < 2:
            return None
        if ends["start"] == ends["end"]:
            self.fail(key, "start and end must differ (leave the window out for 'always')")
            return None
        return LocalWindow(ends["start"], ends["end"])

    # -- the document ----------------------------------------------------------------------

    def policy(self, data: object) -> OfferPolicy | None:
        doc = self.mapping(
            "", data, ("version", "default_locale", "courtesy", "rules", "templates"),
            ("default_locale", "rules"),
        )  # fmt: skip
        if doc is None:
            return None
        version = doc.get("version", 1)
        if version != 1:
            self.fail("version", f"must be 1 {_got(version)}")
        locale = self.text("default_locale", doc["default_locale"], _LOCALE)
        courtesy = self.courtesy(doc.get("courtesy"))
        rules = self.rules(doc["rules"], locale or "en")
        templates = self.templates(doc.get("templates"), locale or "en")
        if locale is None or courtesy is None or rules is None or templates is None:
            return None
        return OfferPolicy(
            default_locale=locale, courtesy=courtesy, rules=rules, templates=templates
        )

    def courtesy(self, value: object) -> Courtesy | None:
        if value is None:
            return Courtesy()
        keys = (
            "per_customer_per_visit", "per_customer_per_day", "per_store_per_day",
            "cooldown_minutes", "quiet_hours",
        )  # fmt: skip
        shape = self.mapping("courtesy", value, keys)
        if shape is None:
            return None
        default = Courtesy()
        before = len(self.errors)

        def limit(name: str, high: int, fallback: int | None) -> int | None:
            raw = shape.get(name, fallback)
            return self.optional_integer(f"courtesy.{name}", raw, 1, high, "offers")

        per_visit = limit("per_customer_per_visit", 100, default.per_customer_per_visit)
        per_day = limit("per_customer_per_day", 1000, default.per_customer_per_day)
        per_store = limit("per_store_per_day", 10_000_000, default.per_store_per_day)
        cooldown = self.integer(
            "courtesy.cooldown_minutes",
            shape.get("cooldown_minutes", int(default.cooldown.total_seconds()) // 60),
            0,
            7 * 24 * 60,
            "minutes",
        )
        quiet = self.window("courtesy.quiet_hours", shape.get("quiet_hours"))
        if len(self.errors) > before or cooldown is None:
            return None
        return Courtesy(per_visit, per_day, per_store, timedelta(minutes=cooldown), quiet)

    def rules(self, value: object, default_locale: str) -> tuple[OfferRule, ...] | None:
        if not isinstance(value, list):
            self.fail("rules", f"must be a list of rules (may be empty: []) {_got(value)}")
            return None
        return self.unique("rules", "rule", value, lambda i, raw: self.rule(i, raw, default_locale))

    def unique(
        self, key: str, kind: str, items: list[Any], parse: Callable[[int, object], _Named | None]
    ) -> tuple[_Named, ...] | None:
        """Each item parsed, or None if any is wrong or two share an id (all are reported)."""
        parsed: list[_Named] = []
        seen: set[str] = set()
        ok = True
        for index, raw in enumerate(items):
            item = parse(index, raw)
            self.where = ""
            if item is None:
                ok = False
            elif item.id in seen:
                ok = False
                self.fail(f"{key}[{index}].id", f"{item.id!r} is used twice; {kind} ids are unique")
            else:
                seen.add(item.id)
                parsed.append(item)
        return tuple(parsed) if ok else None

    def locate(self, kind: str, index: int, value: object, id_pattern: re.Pattern[str]) -> None:
        """Name errors after the item's id when it has a valid one, else after its position."""
        self.where = f"{kind} #{index + 1}"
        raw_id = value.get("id") if isinstance(value, Mapping) else None
        if isinstance(raw_id, str) and id_pattern.fullmatch(raw_id):
            self.where = f"{kind} {raw_id!r}"

    def description(self, value: object) -> str:
        """An optional free text for people reading the rules."""
        text = value or ""
        if not isinstance(text, str) or len(text) > _MAX_TEXT:
            self.fail("description", f"must be a text of at most {_MAX_TEXT} characters")
            return ""
        return text

    def rule(self, index: int, value: object, default_locale: str) -> OfferRule | None:
        self.locate("rule", index, value, _RULE_ID)
        keys = (
            "id", "description", "enabled", "trigger", "conditions", "offer", "budget",
            "holdout_share",
        )  # fmt: skip
        shape = self.mapping("", value, keys, ("id", "trigger", "offer"), label="a rule")
        if shape is None:
            return None
        before = len(self.errors)
        rule_id = self.text("id", shape["id"], _RULE_ID)
        description = self.description(shape.get("description"))
        enabled = self.boolean("enabled", shape.get("enabled", True))
        trigger = self.trigger(shape["trigger"])
        conditions = self.conditions(shape.get("conditions"))
        offer = self.offer(shape["offer"], default_locale)
        budget = self.budget(shape.get("budget"))
        share = self.share(shape.get("holdout_share", 0))
        if len(self.errors) > before:
            return None
        rule = OfferRule(
            id=cast(str, rule_id),
            trigger=cast(Trigger, trigger),
            offer=cast(OfferTemplate, offer),
            conditions=cast(Conditions, conditions),
            budget=cast(Budget, budget),
            holdout_share=cast(Decimal, share),
            enabled=cast(bool, enabled),
            description=description,
        )
        currency_error = _mixed_currencies(rule)
        if currency_error:
            self.fail("offer/budget", currency_error)
            return None
        return rule

    def templates(self, value: object, default_locale: str) -> tuple[AssociateTemplate, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail("templates", f"must be a list of templates (may be empty: []) {_got(value)}")
            return None
        return self.unique(
            "templates", "template", value, lambda i, raw: self.template(i, raw, default_locale)
        )

    def template(self, index: int, value: object, default_locale: str) -> AssociateTemplate | None:
        self.locate("template", index, value, _TEMPLATE_ID)
        keys = ("id", "label", "description", "enabled", "offer", "budget")
        shape = self.mapping("", value, keys, ("id", "label", "offer"), label="a template")
        if shape is None:
            return None
        before = len(self.errors)
        template_id = self.text("id", shape["id"], _TEMPLATE_ID)
        label = shape["label"]
        if not isinstance(label, str) or not label.strip() or len(label) > _MAX_LABEL:
            self.fail(
                "label",
                f"must be a non-empty text of at most {_MAX_LABEL} characters, what the "
                f"associate picks from {_got(label)}",
            )
        description = self.description(shape.get("description"))
        enabled = self.boolean("enabled", shape.get("enabled", True))
        offer = self.offer(shape["offer"], default_locale)
        budget = self.budget(shape.get("budget"))
        if len(self.errors) > before:
            return None
        template = AssociateTemplate(
            id=cast(str, template_id),
            label=cast(str, label),
            offer=cast(OfferTemplate, offer),
            budget=cast(Budget, budget),
            enabled=cast(bool, enabled),
            description=description,
        )
        currency_error = _mixed_currencies(template.as_rule())
        if currency_error:
            self.fail("offer/budget", currency_error)
            return None
        return template

    def trigger(self, value: object) -> Trigger | None:
        kinds = ", ".join(TRIGGER_KINDS)
        if isinstance(value, str):
            value = {value: None}
        if not isinstance(value, Mapping) or len(value) != 1:
            self.fail("trigger", f"must be exactly one of {kinds} {_got(value)}")
            return None
        [(kind, params)] = value.items()
        if kind not in TRIGGER_KINDS:
            close = difflib.get_close_matches(str(kind), TRIGGER_KINDS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"one of {kinds}"
            self.fail(f"trigger.{kind}", f"is not a trigger ({hint})")
            return None
        key = f"trigger.{kind}"
        kind = cast(TriggerKind, kind)
        if kind == "zone_dwell":
            shape = self.mapping(key, params, ("zone", "seconds"), ("zone", "seconds"))
            if shape is None:
                return None
            zone = self.text(f"{key}.zone", shape["zone"])
            seconds = self.integer(f"{key}.seconds", shape["seconds"], 10, 86400, "seconds")
            if zone is None or seconds is None:
                return None
            return Trigger(kind, zone=zone, seconds=seconds)
        if kind == "returning_after_days":
            shape = self.mapping(key, params, ("days",), ("days",))
            if shape is None:
                return None
            days = self.integer(f"{key}.days", shape["days"], 1, 3650, "days")
            return None if days is None else Trigger(kind, days=days)
        if params not in (None, {}):
            self.fail(key, f"takes no parameters; write `trigger: {kind}` {_got(params)}")
            return None
        return Trigger(kind)

    def conditions(self, value: object) -> Conditions | None:
        if value is None:
            return Conditions()
        keys = ("segments", "tiers", "consents", "stores", "time_of_day", "weekdays")
        shape = self.mapping("conditions", value, keys)
        if shape is None:
            return None
        before = len(self.errors)
        segments = shape.get("segments") or {}
        seg = self.mapping("conditions.segments", segments, ("any_of", "all_of", "none_of")) or {}
        any_of = self.names("conditions.segments.any_of", seg.get("any_of"))
        all_of = self.names("conditions.segments.all_of", seg.get("all_of"))
        none_of = self.names("conditions.segments.none_of", seg.get("none_of"))
        tiers = self.names("conditions.tiers", shape.get("tiers"))
        consents = self.names("conditions.consents", shape.get("consents"), CONSENTS)
        stores = self.names("conditions.stores", shape.get("stores"))
        window = self.window("conditions.time_of_day", shape.get("time_of_day"))
        days = self.names("conditions.weekdays", shape.get("weekdays"), WEEKDAYS)
        if len(self.errors) > before:
            return None
        if any_of and none_of and any_of & none_of:
            self.fail(
                "conditions.segments",
                f"names a segment in both any_of and none_of {_got(sorted(any_of & none_of))}",
            )
            return None
        return Conditions(
            segments_any_of=cast(frozenset[str], any_of),
            segments_all_of=cast(frozenset[str], all_of),
            segments_none_of=cast(frozenset[str], none_of),
            tiers=cast(frozenset[str], tiers),
            consents=cast(frozenset[str], consents),
            stores=cast(frozenset[str], stores),
            time_of_day=window,
            weekdays=frozenset(WEEKDAYS.index(d) for d in cast(frozenset[str], days)),
        )

    def offer(self, value: object, default_locale: str) -> OfferTemplate | None:
        keys = (
            "percent_off", "amount_off", "scope", "category", "item_from", "in_stock_only",
            "max_discount", "min_spend", "validity_minutes", "message",
        )  # fmt: skip
        shape = self.mapping("offer", value, keys, ("scope", "validity_minutes", "message"))
        if shape is None:
            return None
        before = len(self.errors)
        kind: DiscountKind | None = None
        percent: int | None = None
        amount: Money | None = None
        if ("percent_off" in shape) == ("amount_off" in shape):
            self.fail("offer", "must have exactly one of percent_off or amount_off")
        elif "percent_off" in shape:
            kind = "percent"
            percent = self.integer("offer.percent_off", shape["percent_off"], 1, 90, "percent")
        else:
            kind = "amount"
            amount = self.money("offer.amount_off", shape["amount_off"], optional=False)
        scope = shape["scope"]
        if scope not in ("item", "category", "basket"):
            self.fail("offer.scope", f"must be item, category or basket {_got(scope)}")
            scope = None
        category = self.only_for(shape, "category", scope == "category", "scope: category")
        if scope == "category":
            category = self.text("offer.category", category)
        item_from = self.only_for(shape, "item_from", scope == "item", "scope: item")
        sources = self.sources(item_from)
        in_stock = self.only_for(shape, "in_stock_only", scope == "item", "scope: item")
        in_stock_only = self.boolean("offer.in_stock_only", False if in_stock is None else in_stock)
        max_discount = self.money("offer.max_discount", shape.get("max_discount"))
        if kind == "amount" and max_discount is not None:
            self.fail("offer.max_discount", "only applies to percent_off; remove it")
        if kind == "percent" and scope in ("category", "basket") and max_discount is None:
            self.fail(
                "offer.max_discount",
                f"is required for percent off a {scope}: it bounds what one offer can cost",
            )
        min_spend = self.money("offer.min_spend", shape.get("min_spend"))
        minutes = self.integer(
            "offer.validity_minutes", shape["validity_minutes"], 5, 7 * 24 * 60, "minutes"
        )
        messages = None
        if kind is not None and scope is not None:
            allowed = allowed_for(scope=scope, kind=kind, has_min_spend=min_spend is not None)
            messages = self.messages(shape["message"], default_locale, allowed)
        if len(self.errors) > before or kind is None or scope is None:
            return None
        return OfferTemplate(
            kind=kind,
            scope=cast(Scope, scope),
            validity=timedelta(minutes=cast(int, minutes)),
            messages=cast(tuple[tuple[str, Message], ...], messages),
            percent_off=percent,
            amount_off=amount,
            category=category if scope == "category" else None,
            item_from=cast(tuple[Source, ...], sources)
            if scope == "item"
            else ("cart", "wishlist"),
            in_stock_only=bool(in_stock_only) if scope == "item" else False,
            max_discount=max_discount,
            min_spend=min_spend,
        )

    def only_for(self, shape: Mapping[str, Any], name: str, applies: bool, when: str) -> Any:
        if name not in shape:
            return None
        if not applies:
            self.fail(f"offer.{name}", f"only applies with {when}; remove it")
            return None
        return shape[name]

    def sources(self, value: object) -> tuple[Source, ...] | None:
        if value is None:
            return ("cart", "wishlist")
        if (
            not isinstance(value, list)
            or not value
            or len(set(value)) != len(value)
            or not all(v in ("cart", "wishlist") for v in value)
        ):
            self.fail(
                "offer.item_from",
                f"must list cart and/or wishlist once each, preferred first {_got(value)}",
            )
            return None
        return tuple(cast(list[Source], value))

    def messages(
        self, value: object, default_locale: str, allowed: frozenset[str]
    ) -> tuple[tuple[str, Message], ...] | None:
        if not isinstance(value, Mapping) or not value:
            self.fail(
                "offer.message",
                f"must map locales to {{title, body}}, including {default_locale!r} {_got(value)}",
            )
            return None
        out: list[tuple[str, Message]] = []
        for locale, text in value.items():
            if not isinstance(locale, str) or not _LOCALE.fullmatch(locale):
                # YAML 1.1 reads an unquoted `no` (Norwegian) as false.
                self.fail(
                    f"offer.message.{locale}",
                    "is not a locale such as en or pt-BR; quote it, e.g. 'no'",
                )
                continue
            key = f"offer.message.{locale}"
            shape = self.mapping(key, text, ("title", "body"), ("title", "body"))
            if shape is None:
                continue
            parts = [
                self.placeholder_text(f"{key}.{n}", shape[n], allowed) for n in ("title", "body")
            ]
            if parts[0] is not None and parts[1] is not None:
                out.append((locale, Message(parts[0], parts[1])))
        if default_locale not in value:
            self.fail(
                "offer.message",
                f"must include the default locale {default_locale!r} "
                f"{_got(sorted(map(str, value)))}",
            )
            return None
        return tuple(out)

    def placeholder_text(self, key: str, value: object, allowed: frozenset[str]) -> str | None:
        text = self.text(key, value)
        if text is None:
            return None
        try:
            used = placeholders_in(text)
        except ValueError as error:
            self.fail(key, f"has a malformed placeholder: {error}")
            return None
        unknown = used - allowed
        if unknown:
            self.fail(
                key,
                f"uses {', '.join('{' + u + '}' for u in sorted(unknown))}, which this offer "
                f"has no value for; use {', '.join('{' + a + '}' for a in sorted(allowed))}",
            )
            return None
        return text

    def budget(self, value: object) -> Budget | None:
        if value is None:
            return Budget()
        shape = self.mapping("budget", value, ("offers_per_day", "money_per_day"))
        if shape is None:
            return None
        count = self.optional_integer(
            "budget.offers_per_day", shape.get("offers_per_day"), 1, 10_000_000, "offers"
        )
        money = self.money("budget.money_per_day", shape.get("money_per_day"))
        return Budget(count, money)

    def share(self, value: object) -> Decimal | None:
        problem = f"must be a share between 0 and 0.5, e.g. 0.1 for 10 % {_got(value)}"
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail("holdout_share", problem)
            return None
        try:
            share = Decimal(str(value))
        except InvalidOperation:
            self.fail("holdout_share", problem)
            return None
        if not share.is_finite() or not Decimal(0) <= share <= Decimal("0.5"):
            self.fail("holdout_share", problem)
            return None
        return share
