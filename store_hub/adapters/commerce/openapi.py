"""The commerce API (docs/commerce-api.md) as an OpenAPI 3 document.

Built from the very marshmallow schemas the reference connector validates responses with, so
the published contract and what the hub accepts cannot drift apart. The reference online store
serves it at `/commerce/v1/openapi.json`.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from store_hub.adapters.commerce.reference_schemas import (
    CartSchema,
    CustomerMatchSchema,
    CustomerSchema,
    DecimalString,
    OrderSchema,
    WishlistItemSchema,
    page_of,
)

PREFIX = "/commerce/v1"
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
]


def _customer_id() -> dict[str, Any]:
    return {"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(summary: str, schema: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": [{"bearer": []}],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": schema}}},
                },
                "401": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
            },
        }
    }


def commerce_openapi() -> dict[str, Any]:
    """The OpenAPI 3.0 document of the commerce API v1."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Commerce API (reference connector)",
        version="1",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": "What the hub's reference connector speaks: docs/commerce-api.md"},
    )
    # Money amounts are decimal strings on the wire, never JSON numbers.
    plugin.map_to_openapi_type(DecimalString, "string", "decimal")  # type: ignore[no-untyped-call]
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", _ERROR)
    spec.components.response(
        "Error",
        {"description": "An error", "content": {"application/json": {"schema": "Error"}}},
    )
    spec.components.schema("Customer", schema=CustomerSchema)
    spec.components.schema("WishlistPage", schema=page_of(WishlistItemSchema))
    spec.components.schema("CartPage", schema=page_of(CartSchema))
    spec.components.schema("OrderPage", schema=page_of(OrderSchema))
    spec.components.schema("CustomerMatchPage", schema=page_of(CustomerMatchSchema))
    status = {
        "name": "status",
        "in": "query",
        "schema": {"type": "string", "enum": ["abandoned", "active"]},
    }
    paths = {
        "/customers/{customer_id}": ("A customer's profile", "Customer", []),
        "/customers/{customer_id}/wishlist": (
            "Saved variants, newest first",
            "WishlistPage",
            _PAGING,
        ),
        "/customers/{customer_id}/carts": ("Carts, by status", "CartPage", [status, *_PAGING]),
        "/customers/{customer_id}/orders": ("Orders, newest first", "OrderPage", _PAGING),
    }
    for path, (summary, schema, extra) in paths.items():
        ref = f"#/components/schemas/{schema}"
        spec.path(
            path=f"{PREFIX}{path}", operations=_operation(summary, ref, [_customer_id(), *extra])
        )
    query = {
        "name": "query",
        "in": "query",
        "required": True,
        "description": "2-100 characters: words of the name or email (case-insensitive), or "
        "phone digits (spaces, +, -, brackets ignored)",
        "schema": {"type": "string", "minLength": 2, "maxLength": 100},
    }
    spec.path(
        path=f"{PREFIX}/customers",
        operations=_operation(
            "Customers by name, email or phone, by last name",
            "#/components/schemas/CustomerMatchPage",
            [query, *_PAGING],
        ),
    )
    document: dict[str, Any] = spec.to_dict()
    return document
