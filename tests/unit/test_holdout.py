"""Holdout assignment: deterministic, keyed, independent per rule, and of the configured size.

Tolerance: over n = 10,000 customers the held-out count is Binomial(n, p) if the HMAC behaves
like a random function, so its share has standard deviation sqrt(p (1 - p) / n), at most 0.005
(p = 0.5). We allow 4 of those: a correct implementation fails with probability about 6e-5 per
check (and, the secret being fixed, the result is the same on every run), while a biased one,
e.g. off by a whole percentage point at p = 0.1 (sigma 0.003), fails.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from store_hub.domain.holdout import holdout_point, is_held_out

SECRET = b"test-holdout-secret-0123456789"
OTHER_SECRET = b"another-holdout-secret-987654321"
N = 10_000
CUSTOMERS = [f"c{n:05d}" for n in range(N)]


def held(share: str, rule: str = "arrival-cart-10", secret: bytes = SECRET) -> set[str]:
    return {c for c in CUSTOMERS if is_held_out(secret, c, rule, Decimal(share))}


def within_four_sigma(count: int, p: float) -> bool:
    sigma = math.sqrt(p * (1 - p) / N)
    return abs(count / N - p) <= 4 * sigma


@pytest.mark.parametrize("share", ["0.05", "0.1", "0.25", "0.5"])
def test_share_is_within_four_sigma_of_the_binomial(share: str) -> None:
    assert within_four_sigma(len(held(share)), float(share))
    assert within_four_sigma(len(held(share, secret=OTHER_SECRET)), float(share))


def test_deterministic_and_keyed() -> None:
    first = held("0.1")
    assert held("0.1") == first
    assert holdout_point(SECRET, "c00001", "r") == holdout_point(SECRET, "c00001", "r")
    other = held("0.1", secret=OTHER_SECRET)
    # Another secret gives another, independent group: overlap near 0.1 * 0.1 * N = 100.
    overlap = len(first & other)
    assert within_four_sigma(overlap, 0.01)


def test_rules_are_independent() -> None:
    a = held("0.5", rule="rule-a")
    b = held("0.5", rule="rule-b")
    assert a != b
    # Independent groups of half each share a quarter of the customers.
    assert within_four_sigma(len(a & b), 0.25)


def test_fields_cannot_run_into_each_other() -> None:
    # ("ab", "c") and ("a", "bc") must be different inputs to the hash.
    assert holdout_point(SECRET, "c", "ab") != holdout_point(SECRET, "bc", "a")


def test_raising_the_share_keeps_everyone_already_held_out() -> None:
    assert held("0.1") <= held("0.2")


def test_edges_and_bad_input() -> None:
    assert held("0") == set()
    with pytest.raises(ValueError, match=r"between 0 and 0\.5"):
        is_held_out(SECRET, "c1", "r", Decimal("0.6"))
    with pytest.raises(ValueError, match=r"between 0 and 0\.5"):
        is_held_out(SECRET, "c1", "r", Decimal("-0.1"))
    with pytest.raises(ValueError, match="at least 16 bytes"):
        is_held_out(b"short", "c1", "r", Decimal("0.1"))
