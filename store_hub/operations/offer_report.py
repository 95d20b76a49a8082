"""Per-rule offer results from the recorded decisions: reach, redemption and uplift.

Treatment = decisions sent, holdout = decisions held out (the same population: eligible and
would have been sent). A treatment shopper purchased when the offer was redeemed, or when the
in-store sales show a receipt of theirs in that store while the offer was valid; a held-out
shopper purchased when the sales show such a receipt in the same window. Without in-store
sales the holdout's purchases cannot be seen, so uplift is reported as not measurable yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.orm import Session

from store_hub.adapters.db.models import Offer, OfferDecision
from store_hub.domain.uplift import Interval, RuleCounts, UpliftReport, uplift_report

_SALES = table("sales", column("customer_id"), column("store_id"), column("sold_at"))


@dataclass(frozen=True)
class RuleResult:
    """One rule's line of the report."""

    rule_id: str
    delivered: int
    redeemed: int
    uplift: UpliftReport
    holdout_measurable: bool


def _sales_recorded(session: Session) -> bool:
    if not inspect(session.get_bind()).has_table("sales"):
        return False
    return bool(session.scalar(select(func.count()).select_from(_SALES)))


def _bought(session: Session, decision: OfferDecision) -> bool:
    terms: dict[str, Any] = decision.terms or {}
    until = datetime.fromisoformat(terms["expires_at"]) if "expires_at" in terms else None
    query = (
        select(func.count())
        .select_from(_SALES)
        .where(
            _SALES.c.customer_id == decision.customer_id,
            _SALES.c.store_id == decision.store_id,
            _SALES.c.sold_at >= decision.decided_at,
        )
    )
    if until is not None:
        query = query.where(_SALES.c.sold_at < until)
    return bool(session.scalar(query))


def offer_results(session: Session, since: datetime | None = None) -> list[RuleResult]:
    """Every rule that made an eligible decision since `since`, in rule id order."""
    query = select(OfferDecision).where(OfferDecision.reason.in_(("sent", "held_out")))
    if since is not None:
        query = query.where(OfferDecision.decided_at >= since)
    measurable = _sales_recorded(session)
    by_rule: dict[str, list[OfferDecision]] = {}
    for decision in session.scalars(query.order_by(OfferDecision.id)):
        by_rule.setdefault(decision.rule_id, []).append(decision)
    results = []
    for rule_id, decisions in sorted(by_rule.items()):
        sent = [d for d in decisions if d.reason == "sent"]
        held = [d for d in decisions if d.reason == "held_out"]
        offers = {
            o.id: o
            for o in session.scalars(
                select(Offer).where(Offer.id.in_([d.offer_id for d in sent if d.offer_id]))
            )
        }
        delivered = sum(1 for o in offers.values() if o.delivered_at is not None)
        # A voided redemption did not happen, as far as results go.
        redeemed_ids = {o.id for o in offers.values() if o.status == "redeemed"}
        purchased = sum(
            1 for d in sent if d.offer_id in redeemed_ids or (measurable and _bought(session, d))
        )
        held_bought = sum(1 for d in held if measurable and _bought(session, d))
        counts = RuleCounts(
            rule_id, len(sent), len(redeemed_ids), purchased, len(held), held_bought
        )
        results.append(
            RuleResult(rule_id, delivered, len(redeemed_ids), uplift_report(counts), measurable)
        )
    return results


def _pct(value: Interval | None) -> str:
    return "-" if value is None else f"{value.estimate:.1%}"


def _interval(value: Interval | None) -> str:
    if value is None:
        return "-"
    return f"{value.estimate:+.1%} [{value.low:+.1%}, {value.high:+.1%}]"


def render(results: list[RuleResult]) -> str:
    """The report as a plain text table, with notes for what cannot be measured yet."""
    header = (
        "rule",
        "eligible",
        "sent",
        "held out",
        "delivered",
        "redeemed",
        "redeem rate",
        "buy rate sent",
        "buy rate held out",
        "uplift [95% CI]",
    )
    rows: list[tuple[str, ...]] = [header]
    notes: list[str] = []
    for r in results:
        u = r.uplift
        holdout_rate = _pct(u.purchase_rate_holdout) if r.holdout_measurable else "n/a"
        uplift = _interval(u.uplift) if r.holdout_measurable else "not measurable yet"
        if r.holdout_measurable and u.small_sample and u.uplift is not None:
            uplift += " (small sample)"
        rows.append(
            (
                r.rule_id,
                str(u.eligible),
                str(u.sent),
                str(u.held_out),
                str(r.delivered),
                str(r.redeemed),
                _pct(u.redemption_rate),
                _pct(u.purchase_rate_treatment),
                holdout_rate,
                uplift,
            )
        )
    if not results:
        notes.append("no offer was sent or held out in this period")
    elif not all(r.holdout_measurable for r in results):
        notes.append(
            "uplift is not measurable yet: the holdout group's purchases need in-store sales "
            "(POST /api/v1/stores/{store_id}/sales); until then 'buy rate sent' counts "
            "redemptions only"
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + [f"note: {note}" for note in notes]) + "\n"
