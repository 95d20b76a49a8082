from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from store_hub.domain.offer_states import (
    FINAL,
    REDEEMABLE_FROM,
    STATES,
    TRANSITIONS,
    IllegalTransition,
    effective_state,
    redeemable,
    transition,
)

LEGAL = {
    ("issued", "delivered"), ("issued", "opened"), ("issued", "redeemed"),
    ("issued", "expired"), ("issued", "voided"),
    ("delivered", "opened"), ("delivered", "redeemed"), ("delivered", "expired"),
    ("delivered", "voided"),
    ("opened", "redeemed"), ("opened", "expired"), ("opened", "voided"),
    ("redeemed", "voided"),
}  # fmt: skip
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_the_table_is_exactly_the_documented_one() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL
    assert set(TRANSITIONS) == set(STATES)
    assert {"issued", "delivered", "opened"} == REDEEMABLE_FROM
    assert {"expired", "voided"} == FINAL


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transitions(current: str, target: str) -> None:
    assert transition(current, target) == target  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(p for p in product(STATES, STATES) if p not in LEGAL),
)
def test_every_illegal_transition_is_refused(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot go from {current} to {target}"):
        transition(current, target)  # type: ignore[arg-type]


def test_illegal_transition_says_what_was_possible() -> None:
    with pytest.raises(IllegalTransition, match=r"from redeemed: voided\)"):
        transition("redeemed", "redeemed")
    with pytest.raises(IllegalTransition, match="nothing, it is final"):
        transition("voided", "issued")


def test_expiry_is_lazy() -> None:
    expires = NOW + timedelta(hours=2)
    assert effective_state("delivered", expires, NOW) == "delivered"
    assert effective_state("delivered", expires, expires) == "expired"
    assert effective_state("redeemed", expires, expires) == "redeemed"
    assert effective_state("voided", expires, expires) == "voided"
    assert redeemable("opened", expires, expires - timedelta(seconds=1))
    assert not redeemable("opened", expires, expires)
    assert not redeemable("redeemed", expires, NOW)
