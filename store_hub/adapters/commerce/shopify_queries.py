"""The Admin GraphQL documents the Shopify connector sends (one operation each, named)."""

from __future__ import annotations

_ORDER = "name processedAt totalPriceSet { shopMoney { amount currencyCode } }"
_VARIANT = (
    "id sku title price selectedOptions { name value } image { url } "
    "product { title featuredImage { url } }"
)

CUSTOMER = f"""
query HubCustomer($id: ID!, $ordersFirst: Int!, $withSizes: Boolean!, $sizesNamespace: String!,
    $sizesKey: String!, $withWishlist: Boolean!, $wishlistNamespace: String!,
    $wishlistKey: String!) {{
  shop {{ currencyCode }}
  customer(id: $id) {{
    id firstName lastName tags
    defaultEmailAddress {{ emailAddress marketingState }}
    amountSpent {{ amount currencyCode }}
    sizes: metafield(namespace: $sizesNamespace, key: $sizesKey) @include(if: $withSizes) {{
      type value
    }}
    wishlist: metafield(namespace: $wishlistNamespace, key: $wishlistKey)
        @include(if: $withWishlist) {{ type value }}
    orders(first: $ordersFirst, sortKey: PROCESSED_AT, reverse: true) {{
      nodes {{ {_ORDER} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""

CUSTOMER_ORDERS = f"""
query HubCustomerOrders($id: ID!, $first: Int!, $after: String) {{
  customer(id: $id) {{
    orders(first: $first, after: $after, sortKey: PROCESSED_AT, reverse: true) {{
      nodes {{ {_ORDER} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""

VARIANTS_BY_ID = f"""
query HubWishlistVariants($ids: [ID!]!) {{
  nodes(ids: $ids) {{ __typename ... on ProductVariant {{ {_VARIANT} }} }}
}}
"""

VARIANTS_BY_SKU = f"""
query HubWishlistSkus($query: String!, $first: Int!, $after: String) {{
  productVariants(first: $first, after: $after, query: $query) {{
    nodes {{ {_VARIANT} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

ABANDONED_CHECKOUTS = """
query HubAbandonedCheckouts($query: String!, $first: Int!, $after: String) {
  abandonedCheckouts(first: $first, after: $after, query: $query, sortKey: CREATED_AT,
      reverse: true) {
    nodes {
      id updatedAt completedAt
      customer { id }
      totalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: 50) {
        nodes {
          title quantity sku
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          image { url }
          variant { sku selectedOptions { name value } image { url } }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CUSTOMER_SEARCH = """
query HubCustomerSearch($query: String!, $first: Int!) {
  customers(first: $first, query: $query, sortKey: NAME) {
    nodes {
      id firstName lastName tags
      defaultEmailAddress { emailAddress }
      defaultPhoneNumber { phoneNumber }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
