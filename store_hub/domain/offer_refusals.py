"""Why an offer was not sent, in words an associate can tell a shopper (pure)."""

from __future__ import annotations

from store_hub.domain.offer_rules import Courtesy


def _plural(count: int | None, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def refusal_message(reason: str, courtesy: Courtesy, detail: str = "") -> str:
    """The sentence for a decision's `reason` (offer_decision.Reason) under `courtesy`."""
    if reason == "no_offers_consent":
        return "This shopper has not agreed to receive offers."
    if reason == "conditions_not_met":
        return f"This offer does not apply to this shopper ({detail or 'conditions'})."
    if reason == "nothing_to_offer":
        return "Nothing in their cart or wishlist that this offer can apply to."
    if reason == "quiet_hours" and courtesy.quiet_hours is not None:
        window = courtesy.quiet_hours.to_dict()
        return f"Quiet hours: no offers between {window['start']} and {window['end']}."
    if reason == "capped:visit":
        most = _plural(courtesy.per_customer_per_visit, "offer", "offers")
        return f"Already sent this shopper {most} in this visit, the most allowed."
    if reason == "capped:day":
        most = _plural(courtesy.per_customer_per_day, "offer", "offers")
        return f"Already sent this shopper {most} today, the most allowed."
    if reason == "cooldown":
        minutes = int(courtesy.cooldown.total_seconds()) // 60
        return f"Already sent an offer in the last {_plural(minutes, 'minute', 'minutes')}."
    if reason == "capped:store":
        return "The store has sent all the offers it may send today."
    if reason in ("capped:rule_budget_count", "capped:rule_budget_money"):
        return "This offer's budget for today is used up: pick another."
    if reason == "held_out":
        return "This shopper is in the comparison group for this offer."
    return "The offer could not be sent."
