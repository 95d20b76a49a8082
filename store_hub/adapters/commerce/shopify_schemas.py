"""The Shopify Admin GraphQL documents the Shopify connector reads, checked before any use.

Only the fields the queries in `shopify.py` select; unknown fields are ignored. Money comes as
`MoneyV2` (`{"amount": "12.50", "currencyCode": "GBP"}`, the amount a decimal string) or, for a
variant's `price`, as a bare decimal string in the shop's currency.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from beacon_agent.protocol import UtcDateTime
from store_hub.adapters.commerce.reference_schemas import DecimalString

_CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="currencyCode must be an ISO 4217 code")


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class MoneyV2Schema(_Lenient):
    """`MoneyV2`."""

    amount = DecimalString(required=True)
    currencyCode = fields.String(required=True, validate=_CURRENCY)


class MoneyBagSchema(_Lenient):
    """`MoneyBag`: the shop's currency is what the card shows."""

    shopMoney = fields.Nested(MoneyV2Schema, required=True)


class PageInfoSchema(_Lenient):
    """`PageInfo` as selected: `hasNextPage endCursor`."""

    hasNextPage = fields.Boolean(required=True)
    endCursor = fields.String(load_default=None, allow_none=True)


class ImageSchema(_Lenient):
    """`Image { url }`."""

    url = fields.String(required=True)


class OptionSchema(_Lenient):
    """`SelectedOption`."""

    name = fields.String(required=True)
    value = fields.String(required=True)


class EmailSchema(_Lenient):
    """`CustomerEmailAddress { emailAddress marketingState }`."""

    emailAddress = fields.String(load_default=None, allow_none=True)
    marketingState = fields.String(load_default=None, allow_none=True)


class MetafieldSchema(_Lenient):
    """`Metafield { type value }`: the value is always a string, JSON for list and json types."""

    type = fields.String(load_default=None, allow_none=True)
    value = fields.String(required=True)


class CustomerSchema(_Lenient):
    """The `customer` of HubCustomer as the profile needs it (orders, wishlist checked apart)."""

    id = fields.String(required=True)
    firstName = fields.String(load_default=None, allow_none=True)
    lastName = fields.String(load_default=None, allow_none=True)
    defaultEmailAddress = fields.Nested(EmailSchema, load_default=None, allow_none=True)
    tags = fields.List(fields.String(), load_default=list)
    amountSpent = fields.Nested(MoneyV2Schema, required=True)
    sizes = fields.Nested(MetafieldSchema, load_default=None, allow_none=True)


class OrderSchema(_Lenient):
    """An `Order` as the card lists it."""

    name = fields.String(required=True)
    processedAt = UtcDateTime(required=True)
    totalPriceSet = fields.Nested(MoneyBagSchema, required=True)


class OrderConnectionSchema(_Lenient):
    """`OrderConnection { nodes pageInfo }`."""

    nodes = fields.List(fields.Nested(OrderSchema), required=True)
    pageInfo = fields.Nested(PageInfoSchema, required=True)


class ProductSchema(_Lenient):
    """A variant's `product { title featuredImage { url } }`."""

    title = fields.String(required=True)
    featuredImage = fields.Nested(ImageSchema, load_default=None, allow_none=True)


class VariantSchema(_Lenient):
    """A `ProductVariant` as a wishlist entry needs it."""

    id = fields.String(required=True)
    sku = fields.String(load_default=None, allow_none=True)
    title = fields.String(load_default=None, allow_none=True)
    price = DecimalString(required=True)
    selectedOptions = fields.List(fields.Nested(OptionSchema), load_default=list)
    image = fields.Nested(ImageSchema, load_default=None, allow_none=True)
    product = fields.Nested(ProductSchema, required=True)


class VariantConnectionSchema(_Lenient):
    """`ProductVariantConnection { nodes pageInfo }`."""

    nodes = fields.List(fields.Nested(VariantSchema), required=True)
    pageInfo = fields.Nested(PageInfoSchema, required=True)


class LineVariantSchema(_Lenient):
    """A checkout line's `variant`, for its SKU, options and image."""

    sku = fields.String(load_default=None, allow_none=True)
    selectedOptions = fields.List(fields.Nested(OptionSchema), load_default=list)
    image = fields.Nested(ImageSchema, load_default=None, allow_none=True)


class CheckoutLineSchema(_Lenient):
    """An `AbandonedCheckoutLineItem`."""

    title = fields.String(load_default=None, allow_none=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    sku = fields.String(load_default=None, allow_none=True)
    originalUnitPriceSet = fields.Nested(MoneyBagSchema, required=True)
    image = fields.Nested(ImageSchema, load_default=None, allow_none=True)
    variant = fields.Nested(LineVariantSchema, load_default=None, allow_none=True)


class _LineConnectionSchema(_Lenient):
    nodes = fields.List(fields.Nested(CheckoutLineSchema), required=True)


class _CustomerRefSchema(_Lenient):
    id = fields.String(required=True)


class CheckoutSchema(_Lenient):
    """An `AbandonedCheckout`."""

    id = fields.String(required=True)
    updatedAt = UtcDateTime(required=True)
    completedAt = UtcDateTime(load_default=None, allow_none=True)
    customer = fields.Nested(_CustomerRefSchema, load_default=None, allow_none=True)
    totalPriceSet = fields.Nested(MoneyBagSchema, required=True)
    lineItems = fields.Nested(_LineConnectionSchema, required=True)


class CheckoutConnectionSchema(_Lenient):
    """`AbandonedCheckoutConnection { nodes pageInfo }`."""

    nodes = fields.List(fields.Nested(CheckoutSchema), required=True)
    pageInfo = fields.Nested(PageInfoSchema, required=True)


class PhoneSchema(_Lenient):
    """`CustomerPhoneNumber { phoneNumber }`."""

    phoneNumber = fields.String(load_default=None, allow_none=True)


class CustomerMatchSchema(_Lenient):
    """A `Customer` as HubCustomerSearch selects it."""

    id = fields.String(required=True)
    firstName = fields.String(load_default=None, allow_none=True)
    lastName = fields.String(load_default=None, allow_none=True)
    tags = fields.List(fields.String(), load_default=list)
    defaultEmailAddress = fields.Nested(EmailSchema, load_default=None, allow_none=True)
    defaultPhoneNumber = fields.Nested(PhoneSchema, load_default=None, allow_none=True)


class CustomerConnectionSchema(_Lenient):
    """`CustomerConnection { nodes pageInfo }`."""

    nodes = fields.List(fields.Nested(CustomerMatchSchema), required=True)
    pageInfo = fields.Nested(PageInfoSchema, required=True)
