"""The Shopify connector: a customer's snapshot from the Shopify Admin GraphQL API.

One query fetches the customer (name, email, tags, amount spent, the sizes and wishlist
metafields) with the first page of orders; then, at once, further order pages, the wishlist's
variants and the customer's open abandoned checkout. The whole fetch has one deadline. Queries
honour Shopify's calculated-cost limit (`shopify_throttle.CostBucket`): one waits for the bucket
if that fits the deadline, and a THROTTLED or 429 answer is retried once after the wait it asks
for, if that fits too. Anything else (timeouts, 5xx, GraphQL `errors`, bodies of the wrong shape)
becomes a `Problem` in a degraded snapshot; nothing is raised to the caller.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from marshmallow import Schema, ValidationError
from requests.adapters import HTTPAdapter

from store_hub.adapters.commerce import shopify_queries as q
from store_hub.adapters.commerce.failures import Clock, log_if_degraded, system_clock
from store_hub.adapters.commerce.shopify_schemas import (
    CheckoutConnectionSchema,
    CustomerConnectionSchema,
    CustomerSchema,
    EmailSchema,
    MetafieldSchema,
    OrderConnectionSchema,
    VariantConnectionSchema,
    VariantSchema,
)
from store_hub.adapters.commerce.shopify_throttle import CostBucket
from store_hub.adapters.commerce.snapshot import (
    MAX_ORDERS,
    MAX_SEARCH_LIMIT,
    PARTS,
    Cart,
    CartLine,
    CustomerMatch,
    CustomerSearch,
    CustomerSnapshot,
    OrderSummary,
    Part,
    Problem,
    ProblemKind,
    Profile,
    WishlistItem,
    search_failed,
    search_refused,
)
from store_hub.domain.customer_search import (
    QueryRefused,
    Searchable,
    checked_query,
    matches,
    phone_digits,
)

log = logging.getLogger(__name__)

CUSTOMER_GID = "gid://shopify/Customer/"
VARIANT_GID = "gid://shopify/ProductVariant/"
WISHLIST_LIMIT = 50
CHECKOUTS_PER_PAGE = 10
MAX_DETAIL = 240
# Until Shopify has told us what an operation costs, assume a modest query.
DEFAULT_COST = 20.0


@dataclass(frozen=True)
class ShopifySettings:
    """Where the shop is, how to authenticate, and where the hub's extra data lives."""

    shop: str  # "example.myshopify.com" (https assumed) or a full base URL
    access_token: str  # an Admin API access token (shpat_...)
    api_version: str = "2025-07"
    # "namespace.key" of customer metafields; None to not fetch them.
    wishlist_metafield: str | None = "custom.wishlist"
    sizes_metafield: str | None = "custom.sizes"
    tier_tag_prefix: str = "tier:"
    size_options: tuple[str, ...] = ("Size",)
    colour_options: tuple[str, ...] = ("Color", "Colour")
    timeout_s: float = 2.0
    orders_page_size: int = MAX_ORDERS
    checkout_pages: int = 2
    max_workers: int = 16

    def endpoint(self) -> str:
        """The GraphQL endpoint for this shop and API version."""
        base = self.shop if "://" in self.shop else f"https://{self.shop}"
        return f"{base.rstrip('/')}/admin/api/{self.api_version}/graphql.json"


def customer_gid(customer_id: str) -> str | None:
    """The Shopify global id for a hub customer id (numeric id or gid), or None."""
    if customer_id.startswith(CUSTOMER_GID) and customer_id[len(CUSTOMER_GID) :].isdigit():
        return customer_id
    return f"{CUSTOMER_GID}{customer_id}" if customer_id.isdigit() else None


def _metafield(setting: str | None) -> tuple[bool, str, str]:
    if not setting:
        return False, "", ""
    namespace, _, key = setting.rpartition(".")
    return bool(namespace and key), namespace, key


class ShopifyConnector:
    """A `CommerceConnector` for one Shopify shop through the Admin GraphQL API."""

    def __init__(
        self,
        settings: ShopifySettings,
        *,
        clock: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._url = settings.endpoint()
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self.bucket = CostBucket(monotonic)
        self._costs: dict[str, float] = {}
        self._costs_lock = threading.Lock()
        self._session = requests.Session()
        self._session.headers.update(
            {
                "X-Shopify-Access-Token": settings.access_token,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "store-hub/shopify-connector",
            }
        )
        # Retrying is the fetching policy's job (retry.py), bar Shopify's own throttling.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=settings.max_workers, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._pool = ThreadPoolExecutor(settings.max_workers, thread_name_prefix="shopify")

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        """Profile, wishlist, abandoned checkout and recent orders, within about `timeout_s`."""
        fetched_at = self._clock()
        try:
            snapshot = self._fetch(customer_id, fetched_at)
        except Exception as error:  # a bug here must not cost the shopper their arrival
            log.exception("Shopify fetch failed for customer %s", customer_id)
            snapshot = _nothing(customer_id, fetched_at, "malformed", type(error).__name__)
        log_if_degraded(log, "Shopify", snapshot)
        return snapshot

    def search_customers(self, query: str, limit: int) -> CustomerSearch:
        """`customers(first:, query:)`, checked against the query as the reference store reads it.

        Shopify's search is full-text and looser than ours (it stems, it matches any field),
        so each customer it sends is kept only if name, email or phone really match.
        """
        try:
            checked = checked_query(query)
        except QueryRefused as refused:
            return search_refused(query, "invalid_query", refused.message)
        size = max(1, min(limit, MAX_SEARCH_LIMIT))
        try:
            page = self._page(
                "profile",
                "HubCustomerSearch",
                q.CUSTOMER_SEARCH,
                {"query": shopify_search(checked), "first": size},
                ("customers",),
                CustomerConnectionSchema(),
                self._monotonic() + self.settings.timeout_s,
            )
        except Exception as error:  # a bug here must not break the associate's search
            log.exception("Shopify customer search failed")
            return search_failed(query, "malformed", type(error).__name__)
        if isinstance(page, Problem):
            log.warning("Shopify answered a customer search with %s (%s)", page.kind, page.detail)
            return search_failed(query, page.kind, page.detail)
        found = [self._match(node) for node in page["nodes"]]
        kept = tuple(
            m
            for m in found
            if matches(checked, Searchable(m.first_name, m.last_name, m.email, m.phone))
        )
        return CustomerSearch(
            query=checked, status="ok", matches=kept, more=page["pageInfo"]["hasNextPage"]
        )

    def _match(self, node: dict[str, Any]) -> CustomerMatch:
        phone = node["defaultPhoneNumber"]
        return CustomerMatch(
            customer_id=_legacy_id(node["id"]),
            first_name=node["firstName"] or "",
            last_name=node["lastName"] or "",
            email=_email_of(node["defaultEmailAddress"]),
            phone=phone.get("phoneNumber") if phone else None,
            loyalty_tier=self._tier(node["tags"]),
        )

    def _tier(self, tags: list[str]) -> str | None:
        prefix = self.settings.tier_tag_prefix.lower()
        tier = next(
            (t[len(prefix) :].strip().lower() for t in tags if t.lower().startswith(prefix)),
            None,
        )
        return tier or None

    def close(self) -> None:
        """Release the connections and the worker threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()

    # -- the fetch ------------------------------------------------------------------------

    def _fetch(self, customer_id: str, fetched_at: datetime) -> CustomerSnapshot:
        deadline = self._monotonic() + self.settings.timeout_s
        gid = customer_gid(customer_id)
        if gid is None:
            return _nothing(customer_id, fetched_at, "not_found", "not a Shopify customer id")
        with_sizes, sizes_ns, sizes_key = _metafield(self.settings.sizes_metafield)
        with_wishlist, wishlist_ns, wishlist_key = _metafield(self.settings.wishlist_metafield)
        answer = self._query(
            "profile",
            "HubCustomer",
            q.CUSTOMER,
            {
                "id": gid,
                "ordersFirst": self.settings.orders_page_size,
                "withSizes": with_sizes,
                "sizesNamespace": sizes_ns,
                "sizesKey": sizes_key,
                "withWishlist": with_wishlist,
                "wishlistNamespace": wishlist_ns,
                "wishlistKey": wishlist_key,
            },
            deadline,
        )
        if isinstance(answer, Problem):
            return _nothing(customer_id, fetched_at, answer.kind, answer.detail)
        data, errors = answer
        customer = data.get("customer")
        if not isinstance(customer, dict):
            if errors:
                problem = _error_problem("profile", errors)
                return _nothing(customer_id, fetched_at, problem.kind, problem.detail)
            return _nothing(customer_id, fetched_at, "not_found", "no such customer")
        shop = data.get("shop")
        shop_currency = shop.get("currencyCode") if isinstance(shop, dict) else None

        loaded: dict[Part, Any] = {}
        problems: list[Problem] = []
        profile = _load_part("profile", CustomerSchema(), customer, problems)
        if profile is not None:
            loaded["profile"] = self._profile(customer_id, profile)
        currency = shop_currency if isinstance(shop_currency, str) else None
        if currency is None and profile is not None:
            currency = profile["amountSpent"]["currencyCode"]

        follow_ups: dict[Part, Future[Any]] = {}
        first_orders = self._orders_page(customer.get("orders"), errors, problems)
        if first_orders is not None:
            follow_ups["orders"] = self._pool.submit(self._more_orders, gid, first_orders, deadline)
        refs = self._wishlist_refs(customer.get("wishlist"), errors, problems)
        if refs:
            follow_ups["wishlist"] = self._pool.submit(
                self._resolve_wishlist, refs, currency or "XXX", deadline
            )
        elif refs is not None:
            loaded["wishlist"] = ()
        email = _email(customer.get("defaultEmailAddress"))
        if email:
            follow_ups["cart"] = self._pool.submit(self._abandoned_cart, gid, email, deadline)
        else:
            loaded["cart"] = None  # no email to look checkouts up by: none can be found

        wait(follow_ups.values(), timeout=max(0.0, deadline - self._monotonic()))
        for part, future in follow_ups.items():
            outcome = _outcome(part, future, self.settings.timeout_s)
            if isinstance(outcome, Problem):
                problems.append(outcome)
            elif isinstance(outcome, _WithProblem):
                loaded[part] = outcome.value
                problems.append(outcome.problem)
            else:
                loaded[part] = outcome
        return _assemble(customer_id, fetched_at, loaded, problems)

    def _profile(self, customer_id: str, data: dict[str, Any]) -> Profile:
        return Profile(
            customer_id=customer_id,
            first_name=data["firstName"] or "",
            last_name=data["lastName"] or "",
            email=_email_of(data["defaultEmailAddress"]),
            loyalty_tier=self._tier(data["tags"]),
            lifetime_value=data["amountSpent"]["amount"],
            currency=data["amountSpent"]["currencyCode"],
            sizes=_sizes(data["sizes"]),
            marketing_consents=_email_consent(data["defaultEmailAddress"]),
        )

    # -- orders ---------------------------------------------------------------------------

    def _orders_page(
        self, raw: Any, errors: list[dict[str, Any]], problems: list[Problem]
    ) -> dict[str, Any] | None:
        failed = _errors_at(errors, "customer", "orders")
        if failed:
            problems.append(_error_problem("orders", failed))
            return None
        return _load_part("orders", OrderConnectionSchema(), raw, problems)

    def _more_orders(
        self, gid: str, page: dict[str, Any], deadline: float
    ) -> list[OrderSummary] | _WithProblem:
        orders = [_order(node) for node in page["nodes"]]
        info = page["pageInfo"]
        while len(orders) < MAX_ORDERS and info["hasNextPage"] and info["endCursor"]:
            following = self._page(
                "orders",
                "HubCustomerOrders",
                q.CUSTOMER_ORDERS,
                {"id": gid, "first": self.settings.orders_page_size, "after": info["endCursor"]},
                ("customer", "orders"),
                OrderConnectionSchema(),
                deadline,
            )
            if isinstance(following, Problem):
                # The newest orders are in hand: show them, and say the rest is missing.
                return _WithProblem(orders, following)
            orders += [_order(node) for node in following["nodes"]]
            info = following["pageInfo"]
        return orders[:MAX_ORDERS]

    # -- wishlist -------------------------------------------------------------------------

    def _wishlist_refs(
        self, raw: Any, errors: list[dict[str, Any]], problems: list[Problem]
    ) -> list[str] | None:
        """The metafield's variant ids and SKUs in order; [] if unset, None on a problem."""
        failed = _errors_at(errors, "customer", "wishlist")
        if failed:
            problems.append(_error_problem("wishlist", failed))
            return None
        if raw is None:
            return []
        field = _load_part("wishlist", MetafieldSchema(), raw, problems)
        if field is None:
            return None
        try:
            value = json.loads(field["value"])
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            detail = f"metafield {self.settings.wishlist_metafield} is not a JSON list of ids"
            problems.append(Problem("wishlist", "malformed", detail))
            return None
        refs = [str(v).strip() for v in value if str(v).strip()]
        return list(dict.fromkeys(refs))[:WISHLIST_LIMIT]

    def _resolve_wishlist(
        self, refs: list[str], currency: str, deadline: float
    ) -> tuple[WishlistItem, ...] | Problem:
        ids = {ref: _variant_gid(ref) for ref in refs}
        by_ref: dict[str, dict[str, Any]] = {}
        wanted_ids = [gid for gid in ids.values() if gid is not None]
        if wanted_ids:
            answer = self._query(
                "wishlist", "HubWishlistVariants", q.VARIANTS_BY_ID, {"ids": wanted_ids}, deadline
            )
            if isinstance(answer, Problem):
                return answer
            data, errors = answer
            nodes = data.get("nodes")
            if not isinstance(nodes, list):
                return _error_problem("wishlist", errors) if errors else _malformed("wishlist")
            found: dict[str, dict[str, Any]] = {}
            for node in nodes:
                # Deleted variants come back as null: the shopper's list simply lost them.
                if isinstance(node, dict) and node.get("__typename") == "ProductVariant":
                    try:
                        variant = VariantSchema().load(node)
                    except ValidationError as error:
                        return _malformed("wishlist", error)
                    found[variant["id"]] = variant
            by_ref.update({r: found[g] for r, g in ids.items() if g is not None and g in found})
        skus = [ref for ref, gid in ids.items() if gid is None]
        if skus:
            search = " OR ".join(f'sku:"{_quoted(sku)}"' for sku in skus)
            page = self._page(
                "wishlist",
                "HubWishlistSkus",
                q.VARIANTS_BY_SKU,
                {"query": search, "first": len(skus), "after": None},
                ("productVariants",),
                VariantConnectionSchema(),
                deadline,
            )
            if isinstance(page, Problem):
                return page
            by_sku = {v["sku"]: v for v in page["nodes"] if v["sku"]}
            by_ref.update({sku: by_sku[sku] for sku in skus if sku in by_sku})
        return tuple(self._wishlist_item(by_ref[ref], currency) for ref in refs if ref in by_ref)

    def _wishlist_item(self, variant: dict[str, Any], currency: str) -> WishlistItem:
        product = variant["product"]
        image = variant["image"] or product["featuredImage"]
        options = variant["selectedOptions"]
        return WishlistItem(
            sku=variant["sku"] or _legacy_id(variant["id"]),
            name=product["title"],
            size=_option(options, self.settings.size_options),
            colour=_option(options, self.settings.colour_options),
            price=variant["price"],
            currency=currency,
            image_url=image["url"] if image else None,
        )

    # -- abandoned checkout ---------------------------------------------------------------

    def _abandoned_cart(self, gid: str, email: str, deadline: float) -> Cart | Problem | None:
        """The customer's most recent open abandoned checkout, from a few pages of search."""
        # The search finds checkouts by email among other fields; it is a text search, so the
        # answers are checked against the customer's id before any is believed.
        search = f'status:open recovery_state:not_recovered "{_quoted(email)}"'
        after: str | None = None
        candidates: list[dict[str, Any]] = []
        for _ in range(self.settings.checkout_pages):
            page = self._page(
                "cart",
                "HubAbandonedCheckouts",
                q.ABANDONED_CHECKOUTS,
                {"query": search, "first": CHECKOUTS_PER_PAGE, "after": after},
                ("abandonedCheckouts",),
                CheckoutConnectionSchema(),
                deadline,
            )
            if isinstance(page, Problem):
                return page
            candidates += [
                c
                for c in page["nodes"]
                if c["customer"] is not None
                and c["customer"]["id"] == gid
                and c["completedAt"] is None
            ]
            info = page["pageInfo"]
            if candidates or not info["hasNextPage"] or not info["endCursor"]:
                break
            after = info["endCursor"]
        if not candidates:
            return None
        return self._cart(max(candidates, key=lambda c: c["updatedAt"]))

    def _cart(self, checkout: dict[str, Any]) -> Cart:
        lines = []
        for line in checkout["lineItems"]["nodes"]:
            variant = line["variant"] or {}
            sku = line["sku"] or variant.get("sku")
            if not sku:
                continue  # a custom line: nothing the store could have in stock
            image = line["image"] or variant.get("image")
            price = line["originalUnitPriceSet"]["shopMoney"]
            options = variant.get("selectedOptions", [])
            lines.append(
                CartLine(
                    sku=sku,
                    name=line["title"] or sku,
                    size=_option(options, self.settings.size_options),
                    colour=_option(options, self.settings.colour_options),
                    quantity=line["quantity"],
                    unit_price=price["amount"],
                    currency=price["currencyCode"],
                    image_url=image["url"] if image else None,
                )
            )
        total = checkout["totalPriceSet"]["shopMoney"]
        return Cart(tuple(lines), total["amount"], total["currencyCode"], checkout["updatedAt"])

    # -- transport ------------------------------------------------------------------------

    def _page(
        self,
        part: Part,
        operation: str,
        document: str,
        variables: dict[str, Any],
        path: tuple[str, ...],
        schema: Schema,
        deadline: float,
    ) -> dict[str, Any] | Problem:
        """One page of a connection at `path` in the answer, validated by `schema`."""
        answer = self._query(part, operation, document, variables, deadline)
        if isinstance(answer, Problem):
            return answer
        data, errors = answer
        failed = _errors_at(errors, *path)
        node: Any = data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return (
                _error_problem(part, failed or errors) if (failed or errors) else _malformed(part)
            )
        problems: list[Problem] = []
        loaded: dict[str, Any] | None = _load_part(part, schema, node, problems)
        return problems[0] if loaded is None else loaded

    def _query(
        self,
        part: Part,
        operation: str,
        document: str,
        variables: Mapping[str, Any],
        deadline: float,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | Problem:
        """`(data, errors)` of one GraphQL operation, or why there is none."""
        for attempt in (1, 2):
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                return Problem(part, "timeout", f"no answer within {self.settings.timeout_s:g} s")
            cost = self._cost(operation)
            pause = self.bucket.reserve(cost, within_s=remaining)
            if pause is None:
                return Problem(part, "throttled", f"{operation} would wait past the deadline")
            if pause:
                self._sleep(pause)
                remaining = deadline - self._monotonic()
            outcome = self._post(part, operation, document, variables, remaining)
            if not isinstance(outcome, _Throttled):
                return outcome
            left = deadline - self._monotonic()
            if attempt == 2 or outcome.wait_s is None or outcome.wait_s >= left:
                return Problem(part, "throttled", outcome.detail)
            self._sleep(outcome.wait_s)
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(
        self,
        part: Part,
        operation: str,
        document: str,
        variables: Mapping[str, Any],
        timeout_s: float,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | Problem | _Throttled:
        try:
            response = self._session.post(
                self._url,
                json={"query": document, "variables": dict(variables)},
                timeout=(timeout_s, timeout_s),
            )
        except requests.Timeout:
            return Problem(part, "timeout", f"no answer within {self.settings.timeout_s:g} s")
        except requests.RequestException as error:
            return Problem(part, "unreachable", type(error).__name__)
        status = response.status_code
        if status == 429:
            return _Throttled(_retry_after(response.headers.get("Retry-After")), "HTTP 429")
        if status in (401, 403):
            return Problem(part, "unauthorized", f"HTTP {status}: check the Admin API token")
        if status != 200:
            return Problem(part, "http_error", f"HTTP {status}")
        try:
            body = response.json()
        except ValueError as error:
            return Problem(part, "malformed", f"body is not JSON: {error}"[:MAX_DETAIL])
        if not isinstance(body, dict):
            return _malformed(part)
        cost = (body.get("extensions") or {}).get("cost")
        status_reading = cost.get("throttleStatus") if isinstance(cost, dict) else None
        if isinstance(status_reading, dict):
            self.bucket.observe(status_reading)
        requested = cost.get("requestedQueryCost") if isinstance(cost, dict) else None
        if isinstance(requested, int | float):
            with self._costs_lock:
                self._costs[operation] = float(requested)
        errors = _error_list(body.get("errors"))
        if any(_code(e) == "THROTTLED" for e in errors):
            wait_s = (
                self.bucket.wait_for(float(requested), status_reading)
                if isinstance(requested, int | float) and isinstance(status_reading, dict)
                else None
            )
            return _Throttled(wait_s, f"THROTTLED ({operation})")
        data = body.get("data")
        if data is None and errors:
            return _error_problem(part, errors)
        if not isinstance(data, dict):
            return _malformed(part)
        return data, errors

    def _cost(self, operation: str) -> float:
        with self._costs_lock:
            return self._costs.get(operation, DEFAULT_COST)


@dataclass(frozen=True)
class _Throttled:
    wait_s: float | None
    detail: str


@dataclass(frozen=True)
class _WithProblem:
    """Some of a part, and why the rest is missing."""

    value: Any
    problem: Problem


def _nothing(
    customer_id: str, fetched_at: datetime, kind: ProblemKind, detail: str
) -> CustomerSnapshot:
    return CustomerSnapshot(
        customer_id=customer_id,
        status="unavailable",
        fetched_at=fetched_at,
        problems=tuple(Problem(part, kind, detail) for part in PARTS),
    )


def _assemble(
    customer_id: str, fetched_at: datetime, loaded: dict[Part, Any], problems: list[Problem]
) -> CustomerSnapshot:
    if not loaded:
        return CustomerSnapshot(
            customer_id=customer_id,
            status="unavailable",
            fetched_at=fetched_at,
            problems=tuple(problems),
        )
    orders: list[OrderSummary] = loaded.get("orders", [])
    return CustomerSnapshot(
        customer_id=customer_id,
        status="partial" if problems else "ok",
        fetched_at=fetched_at,
        profile=loaded.get("profile"),
        wishlist=loaded.get("wishlist", ()),
        cart=loaded.get("cart"),
        orders=tuple(sorted(orders, key=lambda o: o.placed_at, reverse=True)[:MAX_ORDERS]),
        problems=tuple(problems),
    )


def _outcome(part: Part, future: Future[Any], timeout_s: float) -> Any:
    if not future.done():
        future.cancel()
        return Problem(part, "timeout", f"no answer within {timeout_s:g} s")
    try:
        return future.result()
    except Exception as error:  # a bug in mapping must not cost the shopper their card
        return Problem(part, "malformed", f"{type(error).__name__}: {error}"[:MAX_DETAIL])


def _load_part(
    part: Part, schema: Schema, raw: Any, problems: list[Problem]
) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = schema.load(raw)
    except ValidationError as error:
        problems.append(_malformed(part, error))
        return None
    return loaded


def _malformed(part: Part, error: ValidationError | None = None) -> Problem:
    detail = "answer does not match the API"
    if error is not None:
        detail += f": {error.messages}"
    return Problem(part, "malformed", detail[:MAX_DETAIL])


def _error_list(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):  # REST-style {"errors": "..."} from the endpoint itself
        return [{"message": raw}]
    if isinstance(raw, list):
        return [e if isinstance(e, dict) else {"message": str(e)} for e in raw]
    return []


def _code(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else None


def _errors_at(errors: list[dict[str, Any]], *path: str) -> list[dict[str, Any]]:
    """The errors whose `path` lies at or under `path` (list indexes aside)."""
    chosen = []
    for error in errors:
        where = [p for p in error.get("path") or [] if isinstance(p, str)]
        if where[: len(path)] == list(path):
            chosen.append(error)
    return chosen


def _error_problem(part: Part, errors: list[dict[str, Any]]) -> Problem:
    codes = [_code(e) for e in errors]
    first = errors[0] if errors else {}
    message = str(first.get("message", "GraphQL error"))
    if "ACCESS_DENIED" in codes:
        return Problem(part, "unauthorized", f"ACCESS_DENIED: {message}"[:MAX_DETAIL])
    if "THROTTLED" in codes:
        return Problem(part, "throttled", message[:MAX_DETAIL])
    code = next((c for c in codes if c), "ERROR")
    return Problem(part, "http_error", f"GraphQL {code}: {message}"[:MAX_DETAIL])


def _retry_after(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header is not None else 1.0
    except ValueError:
        return None


def _order(node: dict[str, Any]) -> OrderSummary:
    total = node["totalPriceSet"]["shopMoney"]
    return OrderSummary(node["name"], node["processedAt"], total["amount"], total["currencyCode"])


def _email(raw: Any) -> str | None:
    try:
        loaded: dict[str, Any] | None = EmailSchema().load(raw) if raw is not None else None
    except ValidationError:
        return None
    return _email_of(loaded)


def _email_of(loaded: dict[str, Any] | None) -> str | None:
    address = loaded.get("emailAddress") if loaded else None
    return address if isinstance(address, str) and address else None


def _email_consent(loaded: dict[str, Any] | None) -> tuple[tuple[str, bool], ...]:
    """Email marketing consent, only when Shopify says: SUBSCRIBED is yes, any other state no."""
    state = loaded.get("marketingState") if loaded else None
    return (("email", state == "SUBSCRIBED"),) if isinstance(state, str) else ()


def _sizes(field: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """A JSON object of garment kind to size; anything else is ignored, not fatal."""
    if field is None:
        return ()
    try:
        value = json.loads(field["value"])
    except ValueError:
        return ()
    if not isinstance(value, dict):
        return ()
    return tuple((str(k), str(v)) for k, v in value.items() if isinstance(v, str | int))


def _variant_gid(ref: str) -> str | None:
    if ref.startswith(VARIANT_GID) and ref[len(VARIANT_GID) :].isdigit():
        return ref
    return f"{VARIANT_GID}{ref}" if ref.isdigit() else None


def _legacy_id(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def _option(options: list[dict[str, Any]], names: tuple[str, ...]) -> str | None:
    wanted = {n.lower() for n in names}
    return next((o["value"] for o in options if o["name"].lower() in wanted), None)


def shopify_search(query: str) -> str:
    """Shopify search syntax for a checked query: quoted words, or a phone number's digits.

    Quoting keeps a shopper's name from being read as a filter (`tag:` and friends); a number
    typed with its national trunk 0 loses it, since Shopify keeps numbers in E.164.
    """
    digits = phone_digits(query)
    if digits is not None:
        return f'"{digits[1:] if digits.startswith("0") else digits}"'
    return " ".join(f'"{_quoted(word)}"' for word in query.split())


def _quoted(text: str) -> str:
    return re.sub(r'(["\\])', r"\\\1", text)
