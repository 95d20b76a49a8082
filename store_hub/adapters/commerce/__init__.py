"""Online stores behind one small protocol: the snapshot types and the reference connector."""

from store_hub.adapters.commerce.reference import ReferenceStoreConnector
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
    "OrderSummary",
    "Problem",
    "Profile",
    "ReferenceStoreConnector",
    "WishlistItem",
]
