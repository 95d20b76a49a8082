"""Offer codes a shopper can read out at a till and nobody can guess."""

from __future__ import annotations

import secrets

# Crockford base32 without I, L, O, U: nothing to confuse when typed from a phone screen.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits of entropy


def new_code() -> str:
    """A fresh random code, grouped as XXXXX-XXXXX for reading aloud."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(typed: str) -> str:
    """The canonical form of a code as a person typed it (case, dashes, look-alikes)."""
    cleaned = typed.upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        raise ValueError("an offer code is 10 letters and digits, e.g. 7K2QX-M9D4T")
    return f"{cleaned[:5]}-{cleaned[5:]}"


def is_code(text: str) -> bool:
    """True when `text` is a code in canonical form (XXXXX-XXXXX, Crockford alphabet)."""
    raw = text.replace("-", "", 1)
    return (
        len(text) == CODE_LENGTH + 1
        and text[5:6] == "-"
        and len(raw) == CODE_LENGTH
        and all(ch in ALPHABET for ch in raw)
    )
