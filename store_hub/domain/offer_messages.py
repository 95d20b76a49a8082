"""Offer message texts with `{placeholder}` fields, checked when loaded and filled when sent.

Only bare names are allowed (`{item_name}`, not `{item_name!r}`, `{0}` or `{item.name}`), so a
retailer's text can never reach into an object, and `{{`/`}}` stand for literal braces.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter

# Every placeholder a message may use; which apply depends on the offer (see allowed_for).
PLACEHOLDERS = ("item_name", "percent", "amount", "category", "min_spend")


def placeholders_in(text: str) -> frozenset[str]:
    """The placeholder names `text` uses; ValueError when a field is malformed."""
    names: set[str] = set()
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as error:
        raise ValueError(f"unbalanced braces ({error}); write {{{{ or }}}} for a brace") from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"{{{field}}} is not a plain placeholder such as {{item_name}}")
        names.add(field)
    return frozenset(names)


def allowed_for(*, scope: str, kind: str, has_min_spend: bool) -> frozenset[str]:
    """Placeholders that have a value for an offer of this shape."""
    allowed = {"percent" if kind == "percent" else "amount"}
    if scope == "item":
        allowed.add("item_name")
    if scope == "category":
        allowed.add("category")
    if has_min_spend:
        allowed.add("min_spend")
    return frozenset(allowed)


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with its placeholders filled from `values` (all must be present)."""
    out: list[str] = []
    for literal, field, _spec, _conversion in Formatter().parse(text):
        out.append(literal)
        if field is not None:
            out.append(values[field])
    return "".join(out)
