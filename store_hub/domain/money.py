"""Money as an exact Decimal amount with its ISO 4217 currency (pure).

Offers are money: amounts never pass through float, and every amount is rounded to the
currency's minor unit with ROUND_HALF_UP (what shoppers and tills expect, not banker's rounding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 currencies whose minor unit is not the cent; every other currency has two decimals.
_ZERO_DECIMALS = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
     "VUV", "XAF", "XOF", "XPF"}
)  # fmt: skip
_THREE_DECIMALS = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_CURRENCY = re.compile(r"[A-Z]{3}")
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for GBP, 0 for JPY, 3 for KWD)."""
    if currency in _ZERO_DECIMALS:
        return 0
    if currency in _THREE_DECIMALS:
        return 3
    return 2


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half up to the currency's minor unit."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit_exponent(currency)), ROUND_HALF_UP)


@dataclass(frozen=True, order=False)
class Money:
    """An exact amount in one currency, already a whole number of minor units."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        """Refuse amounts that are not whole minor units, and unknown-looking currencies."""
        if not _CURRENCY.fullmatch(self.currency):
            raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {self.currency!r}")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError(f"amount must be a finite Decimal, got {self.amount!r}")
        if round_money(self.amount, self.currency) != self.amount:
            places = minor_unit_exponent(self.currency)
            raise ValueError(f"{self.amount} {self.currency} has more than {places} decimal places")

    @classmethod
    def parse(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Money from a decimal string or int (never a float), normalised to minor units."""
        if isinstance(amount, float | bool):
            raise ValueError("money must be a decimal string such as '5.00', not a float")
        try:
            value = Decimal(amount)
        except (InvalidOperation, ValueError):
            raise ValueError(f"not a decimal amount: {amount!r}") from None
        money = cls(value, currency)
        return cls(round_money(money.amount, currency), currency)

    def __add__(self, other: Money) -> Money:
        """The sum of two amounts in the same currency."""
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __le__(self, other: Money) -> bool:
        """Comparison within one currency."""
        self._same_currency(other)
        return self.amount <= other.amount

    def __lt__(self, other: Money) -> bool:
        """Comparison within one currency."""
        self._same_currency(other)
        return self.amount < other.amount

    def min(self, other: Money) -> Money:
        """The smaller of two amounts in the same currency."""
        return self if self <= other else other

    def zero(self) -> Money:
        """Nothing, in this currency."""
        return Money(round_money(Decimal(0), self.currency), self.currency)

    def format(self) -> str:
        """For people: '£12.90', '€5.00', '1200 JPY'."""
        amount = round_money(self.amount, self.currency)
        symbol = _SYMBOLS.get(self.currency)
        return f"{symbol}{amount}" if symbol else f"{amount} {self.currency}"

    def to_dict(self) -> dict[str, str]:
        """JSON form: the amount as a decimal string, so no float ever carries it."""
        return {"amount": str(round_money(self.amount, self.currency)), "currency": self.currency}

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")
