"""Online stores behind one small protocol: snapshot types, connectors and the fetching policy."""

from store_hub.adapters.commerce.policy import FetchPolicy, PolicyConnector
from store_hub.adapters.commerce.reference import ReferenceStoreConnector
from store_hub.adapters.commerce.shopify import ShopifyConnector, ShopifySettings
from store_hub.adapters.commerce.snapshot import (
    Cart,
    CartLine,
    CommerceConnector,
    CustomerSnapshot,
    OrderSummary,
    Problem,
    Profile,
    WishlistItem,
)

__all__ = [
    "Cart",
    "CartLine",
    "CommerceConnector",
    "CustomerSnapshot",
    "FetchPolicy",
    "OrderSummary",
    "PolicyConnector",
    "Problem",
    "Profile",
    "ReferenceStoreConnector",
    "ShopifyConnector",
    "ShopifySettings",
    "WishlistItem",
]
