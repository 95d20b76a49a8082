"""The reference commerce API's documents (docs/commerce-api.md), checked before any use.

Each schema loads straight into the snapshot's types, so a body either becomes a whole, typed
value or raises `ValidationError`: never half of one. Fields the hub does not use are ignored,
so the store can add to its documents without breaking the hub.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from beacon_agent.protocol import UtcDateTime
from store_hub.adapters.commerce.snapshot import (
    Cart,
    CartLine,
    CustomerMatch,
    OrderSummary,
    Profile,
    WishlistItem,
)

_CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="currency must be an ISO 4217 code")


class DecimalString(fields.Field[Decimal]):
    """A money amount: a decimal number written as a JSON string, never a float."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError('amount must be a decimal string such as "49.90"')
        try:
            amount = Decimal(value)
        except InvalidOperation as error:
            raise ValidationError("amount is not a decimal number") from error
        if not amount.is_finite():
            raise ValidationError("amount must be finite")
        return amount


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class MoneySchema(_Lenient):
    """`{"amount": "49.90", "currency": "GBP"}`."""

    amount = DecimalString(required=True)
    currency = fields.String(required=True, validate=_CURRENCY)


def _money(data: dict[str, Any], key: str) -> tuple[Decimal, str]:
    money: dict[str, Any] = data[key]
    return money["amount"], money["currency"]


class CustomerSchema(_Lenient):
    """`GET /customers/{id}`."""

    id = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(load_default=None, allow_none=True)
    loyalty = fields.Dict(keys=fields.String(), load_default=dict)
    lifetime_value = fields.Nested(MoneySchema, required=True)
    sizes = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    preferences = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), load_default=dict
    )
    marketing_consents = fields.Dict(
        keys=fields.String(), values=fields.Boolean(), load_default=dict
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Profile:
        """The profile the snapshot holds."""
        tier = data["loyalty"].get("tier")
        amount, currency = _money(data, "lifetime_value")
        return Profile(
            customer_id=data["id"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            loyalty_tier=tier if isinstance(tier, str) else None,
            lifetime_value=amount,
            currency=currency,
            sizes=tuple(data["sizes"].items()),
            preferences=tuple((k, tuple(v)) for k, v in data["preferences"].items()),
            marketing_consents=tuple(data["marketing_consents"].items()),
        )


class CustomerMatchSchema(_Lenient):
    """An entry of `GET /customers?query=`: who the customer is, not their history."""

    id = fields.String(required=True, validate=validate.Length(min=1))
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    loyalty = fields.Dict(keys=fields.String(), load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> CustomerMatch:
        """The match the search answer holds."""
        tier = data["loyalty"].get("tier")
        return CustomerMatch(
            customer_id=data["id"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            phone=data["phone"],
            loyalty_tier=tier if isinstance(tier, str) else None,
        )


class _VariantFields(_Lenient):
    sku = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True)
    size = fields.String(load_default=None, allow_none=True)
    colour = fields.String(load_default=None, allow_none=True)
    image_url = fields.URL(load_default=None, allow_none=True, require_tld=False)


class WishlistItemSchema(_VariantFields):
    """An entry of `GET /customers/{id}/wishlist`."""

    price = fields.Nested(MoneySchema, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> WishlistItem:
        """The wishlist item the snapshot holds."""
        amount, currency = _money(data, "price")
        return WishlistItem(
            data["sku"],
            data["name"],
            data["size"],
            data["colour"],
            amount,
            currency,
            data["image_url"],
        )


class CartLineSchema(_VariantFields):
    """A line of a cart."""

    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    unit_price = fields.Nested(MoneySchema, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> CartLine:
        """The cart line the snapshot holds."""
        amount, currency = _money(data, "unit_price")
        return CartLine(
            data["sku"],
            data["name"],
            data["size"],
            data["colour"],
            data["quantity"],
            amount,
            currency,
            data["image_url"],
        )


class CartSchema(_Lenient):
    """An entry of `GET /customers/{id}/carts`."""

    items = fields.List(fields.Nested(CartLineSchema), required=True)
    total = fields.Nested(MoneySchema, required=True)
    updated_at = UtcDateTime(required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Cart:
        """The cart the snapshot holds."""
        amount, currency = _money(data, "total")
        return Cart(tuple(data["items"]), amount, currency, data["updated_at"])


class OrderSchema(_Lenient):
    """An entry of `GET /customers/{id}/orders`."""

    id = fields.String(required=True)
    placed_at = UtcDateTime(required=True)
    total = fields.Nested(MoneySchema, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> OrderSummary:
        """The order summary the snapshot holds."""
        amount, currency = _money(data, "total")
        return OrderSummary(data["id"], data["placed_at"], amount, currency)


def page_of(item: type[Schema]) -> Schema:
    """A schema for one page of a collection: `{"data": [...], "has_more", "next_cursor"}`."""
    return Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item), required=True),
            "has_more": fields.Boolean(load_default=False),
            "next_cursor": fields.String(load_default=None, allow_none=True),
        },
        name=f"{item.__name__}Page",
    )(unknown=EXCLUDE)
