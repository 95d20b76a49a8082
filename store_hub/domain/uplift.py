"""Per-rule redemption and purchase rates, and the uplift over the holdout group (pure).

Uplift is the purchase rate of shoppers sent the offer minus that of shoppers held out, with a
95 % interval by Newcombe's hybrid score method (method 10 of Newcombe, Statistics in Medicine
1998; 17:873-890), built from the two groups' Wilson score intervals. It stays inside [-1, 1]
and behaves at small counts and at rates of 0 or 1, where the textbook normal (Wald) interval
collapses to a point or spills past the bounds. Below `MIN_GROUP` shoppers in either group the
interval is still given but flagged as too small to act on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile
MIN_GROUP = 30


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95 % confidence interval."""

    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        """JSON form."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class RuleCounts:
    """What the decisions and sales say about one rule over a period."""

    rule_id: str
    sent: int  # treatment: eligible and sent
    redeemed: int  # of those sent, redeemed
    purchased: int  # of those sent, bought in the attribution window
    held_out: int  # holdout: eligible and held out
    held_out_purchased: int  # of those held out, bought in the same window

    def __post_init__(self) -> None:
        """Counts must be possible: nobody redeems or buys who was not counted."""
        values = (self.sent, self.redeemed, self.purchased, self.held_out, self.held_out_purchased)
        if min(values) < 0:
            raise ValueError("counts cannot be negative")
        if self.redeemed > self.sent or self.purchased > self.sent:
            raise ValueError("redeemed and purchased cannot exceed sent")
        if self.held_out_purchased > self.held_out:
            raise ValueError("held_out_purchased cannot exceed held_out")


@dataclass(frozen=True)
class UpliftReport:
    """One rule's rates and uplift; None where a group is empty."""

    rule_id: str
    eligible: int
    sent: int
    held_out: int
    redemption_rate: Interval | None
    purchase_rate_treatment: Interval | None
    purchase_rate_holdout: Interval | None
    uplift: Interval | None
    small_sample: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""

        def iv(value: Interval | None) -> dict[str, float] | None:
            return None if value is None else value.to_dict()

        return {
            "rule_id": self.rule_id,
            "eligible": self.eligible,
            "sent": self.sent,
            "held_out": self.held_out,
            "redemption_rate": iv(self.redemption_rate),
            "purchase_rate_treatment": iv(self.purchase_rate_treatment),
            "purchase_rate_holdout": iv(self.purchase_rate_holdout),
            "uplift": iv(self.uplift),
            "small_sample": self.small_sample,
        }


def wilson(successes: int, trials: int, z: float = Z_95) -> Interval:
    """Wilson score interval of a proportion (trials > 0)."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError("need 0 <= successes <= trials and trials > 0")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # Clamp away floating-point dust at the 0 and 1 ends, where the interval touches the bound.
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float = Z_95
) -> Interval:
    """Interval of p_a - p_b by Newcombe's hybrid score method (both trials > 0)."""
    a = wilson(successes_a, trials_a, z)
    b = wilson(successes_b, trials_b, z)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))


def uplift_report(counts: RuleCounts) -> UpliftReport:
    """Rates and uplift of one rule from its counts."""
    sent, held = counts.sent, counts.held_out
    treatment = wilson(counts.purchased, sent) if sent else None
    holdout = wilson(counts.held_out_purchased, held) if held else None
    uplift = (
        newcombe_difference(counts.purchased, sent, counts.held_out_purchased, held)
        if sent and held
        else None
    )
    return UpliftReport(
        rule_id=counts.rule_id,
        eligible=sent + held,
        sent=sent,
        held_out=held,
        redemption_rate=wilson(counts.redeemed, sent) if sent else None,
        purchase_rate_treatment=treatment,
        purchase_rate_holdout=holdout,
        uplift=uplift,
        small_sample=min(sent, held) < MIN_GROUP,
    )
