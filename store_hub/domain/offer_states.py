"""The life of an issued offer as an explicit transition table (pure).

    from \\ to   delivered  opened  redeemed  expired  voided
    issued          x         x        x         x        x
    delivered                 x        x         x        x
    opened                             x         x        x
    redeemed                                              x   (void of the redemption)
    expired                                                   (final)
    voided                                                    (final)

Why these and no others:
- issued -> opened/redeemed: a push service's "accepted" is not proof of delivery, and a shopper
  may read the code off the tablet; a till must not refuse a real code because a receipt was lost.
- no way back (opened -> delivered, a late receipt): the adapter ignores a stale event instead.
- redeemed -> voided is final: the code does not come back to life, because tills verify
  offline and a revived code could be spent twice; the retailer issues a new offer instead.
- expiry is lazy: an offer past `expires_at` is expired whatever its stored state says, so
  `effective_state` is what callers show and `redeemable` is what the redeem update checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

OfferState = Literal["issued", "delivered", "opened", "redeemed", "expired", "voided"]
STATES: tuple[OfferState, ...] = ("issued", "delivered", "opened", "redeemed", "expired", "voided")

TRANSITIONS: dict[OfferState, frozenset[OfferState]] = {
    "issued": frozenset({"delivered", "opened", "redeemed", "expired", "voided"}),
    "delivered": frozenset({"opened", "redeemed", "expired", "voided"}),
    "opened": frozenset({"redeemed", "expired", "voided"}),
    "redeemed": frozenset({"voided"}),
    "expired": frozenset(),
    "voided": frozenset(),
}
# The states a redemption may start from: the WHERE clause of the one conditional UPDATE,
# together with `expires_at > now`.
REDEEMABLE_FROM: frozenset[OfferState] = frozenset(
    state for state, targets in TRANSITIONS.items() if "redeemed" in targets
)
FINAL: frozenset[OfferState] = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


class IllegalTransition(ValueError):
    """An offer cannot move from its state to the one asked for."""

    def __init__(self, current: str, target: str) -> None:
        """Say which move was refused and what was possible."""
        allowed = sorted(TRANSITIONS.get(current, frozenset()))  # type: ignore[call-overload]
        super().__init__(
            f"an offer cannot go from {current} to {target} "
            f"(from {current}: {', '.join(allowed) or 'nothing, it is final'})"
        )
        self.current = current
        self.target = target


def transition(current: OfferState, target: OfferState) -> OfferState:
    """`target` if the table allows moving there from `current`; IllegalTransition otherwise."""
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)
    return target


def effective_state(state: OfferState, expires_at: datetime, now: datetime) -> OfferState:
    """The state as of `now`: a not yet used offer past its expiry is expired."""
    if state in REDEEMABLE_FROM and now >= expires_at:
        return "expired"
    return state


def redeemable(state: OfferState, expires_at: datetime, now: datetime) -> bool:
    """Whether a redemption at `now` is allowed."""
    return effective_state(state, expires_at, now) in REDEEMABLE_FROM
