"""Deterministic holdout assignment per (customer, rule) from a keyed hash (pure).

A customer is held out of a rule when HMAC-SHA256(hub secret, rule, customer), read as a number
in [0, 1), falls below the rule's share. Keyed, so nobody without the hub's secret can predict
or steer who is held out; per rule, so being held out of one rule says nothing about another;
stable, so a shopper stays in their group on every visit (the comparison is only fair if they
do). Raising a share keeps everyone already held out held out, since the threshold only grows.
Changing the secret reshuffles every group: keep it for the life of an experiment.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from fractions import Fraction

MIN_SECRET_BYTES = 16
MAX_SHARE = Decimal("0.5")
_BITS = 64
_DOMAIN = b"store-hub holdout v1"


def holdout_point(secret: bytes, customer_id: str, rule_id: str) -> int:
    """The customer's fixed point in [0, 2**64) for `rule_id`."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the holdout secret must be at least {MIN_SECRET_BYTES} bytes")
    # Length-prefixed fields, so ("ab", "c") and ("a", "bc") can never collide.
    message = b"".join(
        len(part).to_bytes(4, "big") + part
        for part in (_DOMAIN, rule_id.encode(), customer_id.encode())
    )
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return int.from_bytes(digest[: _BITS // 8], "big")


def is_held_out(secret: bytes, customer_id: str, rule_id: str, share: Decimal) -> bool:
    """True when this customer is in `rule_id`'s holdout group of size `share` (0 to 0.5)."""
    if not Decimal(0) <= share <= MAX_SHARE:
        raise ValueError(f"holdout share must be between 0 and {MAX_SHARE}, got {share}")
    # Exact threshold (no float): share 0.1 holds out points below 0.1 * 2**64.
    threshold = Fraction(share) * (1 << _BITS)
    return holdout_point(secret, customer_id, rule_id) < threshold
