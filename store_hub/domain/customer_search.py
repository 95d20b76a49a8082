"""Looking a customer up by name, email or phone: the query's rules and how contacts are masked.

Pure: the connectors use `checked_query` and `matches` (the reference store), the hub uses the
masks so a search result tells two namesakes apart without putting a whole address on screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
# Digits a phone query needs before it is read as a number rather than as text.
MIN_PHONE_DIGITS = 3
MASK = "\u2022\u2022\u2022"  # •••
_PHONE_CHARACTERS = re.compile(r"^[\d\s+().\-/]+$")


class QueryRefused(ValueError):
    """Why a search query was not run: a machine code and a sentence for the associate."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the code with the message."""
        super().__init__(message)
        self.code = code
        self.message = message


def checked_query(raw: object) -> str:
    """The query as it will be searched (trimmed, inner spaces collapsed), or QueryRefused."""
    if not isinstance(raw, str):
        raise QueryRefused("invalid_query", "type a name, an email address or a phone number")
    query = " ".join(raw.split())
    if len(query) < MIN_QUERY_LENGTH:
        raise QueryRefused(
            "query_too_short", f"type at least {MIN_QUERY_LENGTH} characters to search"
        )
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryRefused(
            "query_too_long", f"a search is at most {MAX_QUERY_LENGTH} characters ({len(query)})"
        )
    return query


def digits_of(text: str) -> str:
    """Only the digits of `text`: how phone numbers are compared."""
    return "".join(ch for ch in text if ch.isdigit())


def phone_digits(query: str) -> str | None:
    """The digits to look for when `query` reads as a phone number, else None."""
    if not _PHONE_CHARACTERS.match(query):
        return None
    digits = digits_of(query)
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


@dataclass(frozen=True)
class Searchable:
    """What a customer can be found by."""

    first_name: str
    last_name: str
    email: str | None
    phone: str | None


def matches(query: str, who: Searchable) -> bool:
    """Case-insensitive: every word in the name or email, or the digits in the phone number.

    A national number typed with its trunk 0 (07700 900123) also finds the international
    form (+44 7700 900123), since associates type numbers as shoppers say them.
    """
    digits = phone_digits(query)
    if digits is not None:
        phone = digits_of(who.phone or "")
        return bool(phone) and (digits in phone or (digits.startswith("0") and digits[1:] in phone))
    haystack = f"{who.first_name} {who.last_name} {who.email or ''}".casefold()
    return all(word in haystack for word in query.casefold().split())


def mask_email(email: str | None) -> str | None:
    """p•••@shop.example: the first letter and the domain, enough to tell two people apart."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}{MASK}@{domain}" if local and domain else None


def mask_phone(phone: str | None) -> str | None:
    """•••• 1234: the last four digits only."""
    digits = digits_of(phone or "")
    return f"\u2022\u2022\u2022\u2022 {digits[-4:]}" if len(digits) >= 4 else None
