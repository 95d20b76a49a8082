from __future__ import annotations

import json

import pytest

from store_hub.domain.uplift import RuleCounts, newcombe_difference, uplift_report, wilson


def close(interval: tuple[float, float], expected: tuple[float, float]) -> bool:
    return all(abs(a - b) < 5e-5 for a, b in zip(interval, expected, strict=True))


@pytest.mark.parametrize(
    ("a", "n", "b", "m", "expected"),
    [
        # Newcombe (1998), Table II, method 10.
        (56, 70, 48, 80, (0.0524, 0.3339)),
        (9, 10, 3, 10, (0.1705, 0.8090)),
        (6, 7, 2, 7, (0.0582, 0.8062)),
        (5, 56, 0, 29, (-0.0381, 0.1926)),
        (0, 10, 0, 20, (-0.1611, 0.2775)),
        (0, 10, 0, 10, (-0.2775, 0.2775)),
        (10, 10, 0, 20, (0.6791, 1.0000)),
        (10, 10, 0, 10, (0.6075, 1.0000)),
    ],
)
def test_newcombe_matches_the_published_examples(
    a: int, n: int, b: int, m: int, expected: tuple[float, float]
) -> None:
    interval = newcombe_difference(a, n, b, m)
    assert interval.estimate == pytest.approx(a / n - b / m)
    assert close((interval.low, interval.high), expected), interval


def test_wilson_interval() -> None:
    # Newcombe (1998) Table I (single proportion), method 3 (score, no continuity correction).
    interval = wilson(81, 263)
    assert close((interval.low, interval.high), (0.2553, 0.3662))
    zero = wilson(0, 10)
    assert zero.low == 0.0 and zero.high == pytest.approx(0.2775, abs=5e-5)
    with pytest.raises(ValueError):
        wilson(1, 0)


def test_report_per_rule() -> None:
    counts = RuleCounts("arrival-cart-10", sent=900, redeemed=180, purchased=270,
                        held_out=100, held_out_purchased=20)  # fmt: skip
    report = uplift_report(counts)
    assert (report.eligible, report.sent, report.held_out) == (1000, 900, 100)
    assert report.redemption_rate is not None and report.redemption_rate.estimate == 0.2
    assert report.purchase_rate_treatment is not None
    assert report.purchase_rate_treatment.estimate == pytest.approx(0.3)
    assert report.purchase_rate_holdout is not None
    assert report.purchase_rate_holdout.estimate == pytest.approx(0.2)
    assert report.uplift is not None
    assert report.uplift.estimate == pytest.approx(0.1)
    assert report.uplift.low < 0.1 < report.uplift.high
    assert report.uplift.low > 0.0  # 30 % vs 20 % over 900 and 100 shoppers: a real effect
    assert not report.small_sample
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_report_guards_empty_and_small_groups() -> None:
    no_holdout = uplift_report(RuleCounts("r", 50, 5, 10, 0, 0))
    assert no_holdout.uplift is None and no_holdout.purchase_rate_holdout is None
    assert no_holdout.small_sample
    nothing = uplift_report(RuleCounts("r", 0, 0, 0, 0, 0))
    assert nothing.redemption_rate is None and nothing.uplift is None
    small = uplift_report(RuleCounts("r", 12, 3, 4, 5, 1))
    assert small.small_sample and small.uplift is not None
    assert -1.0 <= small.uplift.low <= small.uplift.high <= 1.0


@pytest.mark.parametrize(
    "counts",
    [(-1, 0, 0, 0, 0), (5, 6, 0, 0, 0), (5, 0, 6, 0, 0), (5, 0, 0, 2, 3)],
)
def test_impossible_counts_are_refused(counts: tuple[int, int, int, int, int]) -> None:
    with pytest.raises(ValueError):
        RuleCounts("r", *counts)
