"""The reference HTTP connector: docs/commerce-api.md spoken with requests.

The four calls behind a snapshot run at once on a small pool and the whole fetch is bounded by
one deadline, so a slow store costs an arrival about `timeout_s`, not four times that. Whatever
the store does (time out, refuse, 5xx, send garbage) becomes a `Problem` in a degraded
snapshot, logged once per fetch; nothing is raised to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from marshmallow import Schema, ValidationError
from requests.adapters import HTTPAdapter

from store_hub.adapters.commerce.failures import log_if_degraded
from store_hub.adapters.commerce.reference_schemas import (
    CartSchema,
    CustomerMatchSchema,
    CustomerSchema,
    OrderSchema,
    WishlistItemSchema,
    page_of,
)
from store_hub.adapters.commerce.snapshot import (
    MAX_ORDERS,
    MAX_SEARCH_LIMIT,
    Cart,
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
from store_hub.domain.customer_search import QueryRefused, checked_query

log = logging.getLogger(__name__)
API_PREFIX = "/commerce/v1"
WISHLIST_LIMIT = 50
# A validation report can list every item of a long page; the log needs only the gist.
MAX_DETAIL = 240
_SCHEMAS: dict[Part, Schema] = {
    "profile": CustomerSchema(),
    "wishlist": page_of(WishlistItemSchema),
    "cart": page_of(CartSchema),
    "orders": page_of(OrderSchema),
}
_SEARCH_PAGE = page_of(CustomerMatchSchema)


class ReferenceStoreConnector:
    """A `CommerceConnector` for the reference commerce API at `base_url`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_s: float = 2.0,
        *,
        max_workers: int = 32,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._base = base_url.rstrip("/") + API_PREFIX
        self._timeout_s = timeout_s
        self._clock = clock or (lambda: datetime.now(UTC))
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "store-hub/commerce-connector",
            }
        )
        # One pooled connection per worker; retrying is the caller's policy (a cache or a
        # circuit breaker around this connector), never a hidden second timeout here.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_workers, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="commerce")

    def fetch_customer(self, customer_id: str) -> CustomerSnapshot:
        """Profile, wishlist, abandoned cart and recent orders, within about `timeout_s`."""
        fetched_at = self._clock()
        base = f"{self._base}/customers/{quote(customer_id, safe='')}"
        requests_by_part: dict[Part, tuple[str, dict[str, Any]]] = {
            "profile": (base, {}),
            "wishlist": (f"{base}/wishlist", {"limit": WISHLIST_LIMIT}),
            "cart": (f"{base}/carts", {"status": "abandoned", "limit": 1}),
            "orders": (f"{base}/orders", {"limit": MAX_ORDERS}),
        }
        futures = {
            part: self._pool.submit(self._get, part, url, params)
            for part, (url, params) in requests_by_part.items()
        }
        wait(futures.values(), timeout=self._timeout_s)
        loaded: dict[Part, Any] = {}
        problems: list[Problem] = []
        for part, future in futures.items():
            outcome = self._outcome(part, future)
            if isinstance(outcome, Problem):
                problems.append(outcome)
            else:
                loaded[part] = outcome
        snapshot = _assemble(customer_id, fetched_at, loaded, problems)
        log_if_degraded(log, "online store", snapshot)
        return snapshot

    def search_customers(self, query: str, limit: int) -> CustomerSearch:
        """`GET /customers?query=&limit=`: matches by name, email or phone, within `timeout_s`."""
        try:
            checked = checked_query(query)
        except QueryRefused as refused:
            return search_refused(query, "invalid_query", refused.message)
        size = max(1, min(limit, MAX_SEARCH_LIMIT))
        # On the pool, like a fetch, so connect plus read cannot take twice the deadline.
        try:
            future = self._pool.submit(
                self._load,
                f"{self._base}/customers",
                {"query": checked, "limit": size},
                _SEARCH_PAGE,
            )
        except RuntimeError:  # closed: the hub is shutting down
            return search_failed(query, "unreachable", "connector closed")
        wait([future], timeout=self._timeout_s)
        answer: Any | tuple[ProblemKind, str]
        if not future.done():
            future.cancel()
            answer = "timeout", f"no answer within {self._timeout_s:g} s"
        else:
            try:
                answer = future.result()
            except Exception as error:  # a bug in parsing must not break the search
                answer = "malformed", f"{type(error).__name__}: {error}"[:MAX_DETAIL]
        if isinstance(answer, tuple):
            kind, detail = answer
            log.warning("online store answered a customer search with %s (%s)", kind, detail)
            return search_failed(query, kind, detail)
        return CustomerSearch(
            query=checked,
            status="ok",
            matches=tuple(answer["data"])[:size],
            more=bool(answer["has_more"]),
        )

    def close(self) -> None:
        """Release the connections and the worker threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()

    def _outcome(self, part: Part, future: Future[Any]) -> Any:
        if not future.done():
            future.cancel()  # not started yet: the pool was busy; spare the store the call
            return Problem(part, "timeout", f"no answer within {self._timeout_s:g} s")
        try:
            return future.result()
        except Exception as error:  # a bug in parsing must not cost the shopper their card
            return Problem(part, "malformed", f"{type(error).__name__}: {error}")

    def _get(self, part: Part, url: str, params: dict[str, Any]) -> Any:
        """The loaded document for one part, or the `Problem` that prevented it."""
        answer = self._load(url, params, _SCHEMAS[part])
        if isinstance(answer, tuple):
            return Problem(part, *answer)
        return answer

    def _load(
        self, url: str, params: dict[str, Any], schema: Schema
    ) -> Any | tuple[ProblemKind, str]:
        """The document at `url` loaded by `schema`, or (kind, detail) of what prevented it."""
        try:
            response = self._session.get(
                url, params=params, timeout=(self._timeout_s, self._timeout_s)
            )
        except requests.Timeout:
            return "timeout", f"no answer within {self._timeout_s:g} s"
        except requests.RequestException as error:
            return "unreachable", type(error).__name__
        status = response.status_code
        if status in (401, 403):
            return "unauthorized", f"HTTP {status}: check commerce_api_key"
        if status == 404:
            return "not_found", "HTTP 404"
        if status != 200:
            return "http_error", f"HTTP {status}"
        try:
            return schema.load(response.json())
        except ValueError as error:  # requests' JSONDecodeError is a ValueError
            return "malformed", f"body is not JSON: {error}"[:MAX_DETAIL]
        except ValidationError as error:
            detail = f"body does not match the API: {error.messages}"
            return "malformed", detail[:MAX_DETAIL]


def _assemble(
    customer_id: str, fetched_at: datetime, loaded: dict[Part, Any], problems: list[Problem]
) -> CustomerSnapshot:
    profile: Profile | None = loaded.get("profile")
    if profile is not None and profile.customer_id != customer_id:
        problems.append(Problem("profile", "malformed", f"store sent {profile.customer_id!r}"))
        del loaded["profile"]
        profile = None
    unknown = any(p.part == "profile" and p.kind == "not_found" for p in problems)
    if unknown or not loaded:
        return CustomerSnapshot(
            customer_id=customer_id,
            status="unavailable",
            fetched_at=fetched_at,
            problems=tuple(problems),
        )
    wishlist: tuple[WishlistItem, ...] = (
        tuple(loaded["wishlist"]["data"]) if "wishlist" in loaded else ()
    )
    carts: list[Cart] = loaded["cart"]["data"] if "cart" in loaded else []
    orders: list[OrderSummary] = loaded["orders"]["data"] if "orders" in loaded else []
    return CustomerSnapshot(
        customer_id=customer_id,
        status="partial" if problems else "ok",
        fetched_at=fetched_at,
        profile=profile,
        wishlist=wishlist,
        cart=max(carts, key=lambda c: c.updated_at) if carts else None,
        orders=tuple(sorted(orders, key=lambda o: o.placed_at, reverse=True)[:MAX_ORDERS]),
        problems=tuple(problems),
    )
