"""The reference online store: a small commerce REST API (docs/commerce-api.md) over the catalog.

Its own Flask app on werkzeug's threaded server, separate from the hub, so the hub's connector
talks to it over real HTTP exactly as it would to a retailer's platform. Tests and the demo can
make it slow or broken on purpose (`Fault`), in process or through `/_admin/faults`.

    python -m store_hub.demo.online_store --port 8100 [--api-key K]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from typing import Any, Literal, TypeVar

from flask import Flask, Response, g, jsonify, request
from marshmallow import Schema, ValidationError, fields, post_load, validate
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.commerce.openapi import commerce_openapi
from store_hub.demo.catalog import DEFAULT_SEED, Cart, Catalog, Customer, Order, Variant
from store_hub.demo.catalog import generate_catalog as _generate
from store_hub.domain.customer_search import QueryRefused, Searchable, checked_query, matches
from store_hub.server import QuietRequestHandler

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "demo-commerce-key"
PREFIX = "/commerce/v1"
ADMIN_FAULTS = "/_admin/faults"
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Test hooks


@dataclass(frozen=True)
class Fault:
    """A deliberate misbehaviour for API requests whose path matches the regex `path`."""

    path: str = ""
    latency_s: float = 0.0
    status: int | None = None
    # "truncated": half a JSON body; "wrong_types": valid JSON with money amounts as numbers.
    body: Literal["truncated", "wrong_types"] | None = None


def _is_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValidationError(f"not a regular expression: {error}") from error


class _FaultSchema(Schema):
    path = fields.String(load_default="", validate=_is_regex)
    latency_s = fields.Float(load_default=0.0, validate=validate.Range(0, 60))
    status = fields.Integer(load_default=None, validate=validate.Range(400, 599))
    body = fields.String(load_default=None, validate=validate.OneOf(["truncated", "wrong_types"]))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Fault:
        return Fault(**data)


class Faults:
    """The faults in force; thread-safe, changed by tests while requests are in flight."""

    def __init__(self, initial: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults = list(initial)
        # Set on shutdown, so requests held back by injected latency end at once.
        self.stopping = threading.Event()

    def replace(self, faults: Iterable[Fault]) -> None:
        """Put exactly these faults in force."""
        with self._lock:
            self._faults = list(faults)

    def add(self, fault: Fault) -> None:
        """Add one fault to those in force."""
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Behave again."""
        self.replace(())

    def active(self) -> list[Fault]:
        """The faults in force."""
        with self._lock:
            return list(self._faults)

    def matching(self, path: str) -> list[Fault]:
        """The faults that apply to a request for `path`."""
        return [fault for fault in self.active() if re.search(fault.path, path)]


class RequestCounter:
    """API requests received, by path; thread-safe, so tests can count the store's load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_path: Counter[str] = Counter()

    def record(self, path: str) -> None:
        """Count one request for `path`."""
        with self._lock:
            self._by_path[path] += 1

    def by_path(self) -> dict[str, int]:
        """Requests so far, per path."""
        with self._lock:
            return dict(self._by_path)

    def count(self, pattern: str = "") -> int:
        """Requests so far whose path the regex `pattern` matches (all of them by default)."""
        matcher = re.compile(pattern)
        with self._lock:
            return sum(n for path, n in self._by_path.items() if matcher.search(path))

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._by_path.clear()


# ---------------------------------------------------------------------------------------------
# The API


class ApiError(Exception):
    """An error answered as `{"error": {"code", "message"}}` with `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="commerce"'
    return response


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


def _page(items: Sequence[T], render: Callable[[T], dict[str, Any]]) -> Response:
    """One page of a collection, as `{"data", "has_more", "next_cursor"}`."""
    try:
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
        raw = request.args.get("cursor")
        start = int(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))) if raw else 0
    except (ValueError, binascii.Error) as error:
        raise ApiError(
            400, "invalid_request", "limit must be an integer and cursor one this API returned"
        ) from error
    if not 1 <= limit <= MAX_LIMIT or start < 0:
        raise ApiError(400, "invalid_request", f"limit must be 1-{MAX_LIMIT}")
    end = start + limit
    more = end < len(items)
    cursor = base64.urlsafe_b64encode(str(end).encode()).decode().rstrip("=") if more else None
    return jsonify(
        {
            "data": [render(item) for item in items[start:end]],
            "has_more": more,
            "next_cursor": cursor,
        }
    )


class _Views:
    """The routes' bodies, over one catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.images = {v.image_path: v for v in catalog.variants.values() if v.image_path}

    def customer_of(self, customer_id: str) -> Customer:
        customer = self.catalog.customers.get(customer_id)
        if customer is None:
            raise ApiError(404, "not_found", f"no customer {customer_id!r}")
        return customer

    def variant(self, variant: Variant) -> dict[str, Any]:
        image = variant.image_path
        return {
            "sku": variant.sku,
            "product_id": variant.product_id,
            "name": variant.name,
            "category": variant.category,
            "size": variant.size,
            "colour": variant.colour,
            "price": _money(variant.price, self.catalog.currency),
            "image_url": f"{request.host_url}{PREFIX[1:]}/{image}" if image else None,
        }

    def line(self, sku: str, quantity: int, unit_price: Decimal) -> dict[str, Any]:
        item = self.variant(self.catalog.variants[sku])
        del item["price"]
        currency = self.catalog.currency
        return {
            **item,
            "quantity": quantity,
            "unit_price": _money(unit_price, currency),
            "line_total": _money(unit_price * quantity, currency),
        }

    def customer(self, customer: Customer) -> dict[str, Any]:
        return {
            "id": customer.customer_id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": customer.phone,
            "created_at": format_timestamp(customer.created_at),
            "loyalty": {"tier": customer.loyalty_tier, "points": customer.loyalty_points},
            "lifetime_value": _money(customer.lifetime_value, self.catalog.currency),
            "sizes": dict(customer.sizes),
            "preferences": {
                "categories": list(customer.favourite_categories),
                "colours": list(customer.favourite_colours),
            },
            "marketing_consents": dict(customer.consents),
            "orders_count": len(self.catalog.orders[customer.customer_id]),
        }

    def match(self, customer: Customer) -> dict[str, Any]:
        return {
            "id": customer.customer_id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": customer.phone,
            "loyalty": {"tier": customer.loyalty_tier},
        }

    def search(self, raw: str | None) -> list[Customer]:
        try:
            query = checked_query(raw if raw is not None else "")
        except QueryRefused as refused:
            raise ApiError(400, "invalid_request", f"query: {refused.message}") from refused
        found = [
            c
            for c in self.catalog.customers.values()
            if matches(query, Searchable(c.first_name, c.last_name, c.email, c.phone))
        ]
        return sorted(found, key=lambda c: (c.last_name, c.first_name, c.customer_id))

    def cart(self, cart: Cart) -> dict[str, Any]:
        return {
            "id": cart.cart_id,
            "status": cart.status,
            "created_at": format_timestamp(cart.created_at),
            "updated_at": format_timestamp(cart.updated_at),
            "items": [self.line(x.sku, x.quantity, x.unit_price) for x in cart.lines],
            "total": _money(cart.total, self.catalog.currency),
        }

    def order(self, order: Order) -> dict[str, Any]:
        return {
            "id": order.order_id,
            "placed_at": format_timestamp(order.placed_at),
            "status": order.status,
            "channel": "online",
            "total": _money(order.total, self.catalog.currency),
            "lines": [self.line(x.sku, x.quantity, x.unit_price) for x in order.lines],
        }


def create_app(
    catalog: Catalog,
    api_key: str = DEFAULT_API_KEY,
    faults: Faults | None = None,
    counter: RequestCounter | None = None,
) -> Flask:
    """The store's WSGI app over `catalog`, answering only requests bearing `api_key`."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    faults = faults if faults is not None else Faults()
    counter = counter if counter is not None else RequestCounter()
    views = _Views(catalog)

    @app.before_request
    def misbehave_then_authenticate() -> Response | None:
        path = request.path
        if path in ("/healthz", f"{PREFIX}/openapi.json") or path.startswith(f"{PREFIX}/images/"):
            return None  # public: browsers fetch images, and the contract is no secret
        if path.startswith(PREFIX):
            counter.record(path)  # before faults: a failed call still reached the store
            matched = faults.matching(path)
            delay = max((f.latency_s for f in matched), default=0.0)
            if delay:
                faults.stopping.wait(delay)
            for fault in matched:
                if fault.status is not None:
                    return _error(fault.status, "injected_fault", f"injected {fault.status}")
            g.body_faults = [f.body for f in matched if f.body]
        header = request.headers.get("Authorization", "")
        presented = header[7:].strip() if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(presented.encode(), api_key.encode()):
            return _error(401, "unauthorized", "a valid API key is required (Bearer)")
        return None

    @app.after_request
    def mangle(response: Response) -> Response:
        for body in g.get("body_faults", []):
            data = response.get_data()
            if body == "truncated":
                response.set_data(data[: max(1, len(data) // 2)])
            else:
                response.set_data(json.dumps(_amounts_as_numbers(json.loads(data))))
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return _error(error.status, error.code, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        return _error(error.code or 500, code, error.description or error.name)

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> Response:
        log.exception("online store request failed")
        return _error(500, "internal_error", "the store failed to answer")

    @app.get(f"{PREFIX}/openapi.json")
    def openapi() -> Response:
        return jsonify(commerce_openapi())

    @app.get("/healthz")
    def health() -> Response:
        return jsonify({"status": "ok", "customers": len(catalog.customers)})

    @app.get(f"{PREFIX}/customers")
    def search_customers() -> Response:
        return _page(views.search(request.args.get("query")), views.match)

    @app.get(f"{PREFIX}/customers/<customer_id>")
    def customer(customer_id: str) -> Response:
        return jsonify(views.customer(views.customer_of(customer_id)))

    @app.get(f"{PREFIX}/customers/<customer_id>/wishlist")
    def wishlist(customer_id: str) -> Response:
        views.customer_of(customer_id)
        entries = catalog.wishlists[customer_id]
        return _page(
            entries,
            lambda e: {
                **views.variant(catalog.variants[e.sku]),
                "added_at": format_timestamp(e.added_at),
            },
        )

    @app.get(f"{PREFIX}/customers/<customer_id>/carts")
    def carts(customer_id: str) -> Response:
        views.customer_of(customer_id)
        status = request.args.get("status")
        if status not in (None, "active", "abandoned"):
            raise ApiError(400, "invalid_request", "status must be active or abandoned")
        found = [c for c in catalog.carts[customer_id] if status is None or c.status == status]
        return _page(found, views.cart)

    @app.get(f"{PREFIX}/customers/<customer_id>/orders")
    def orders(customer_id: str) -> Response:
        views.customer_of(customer_id)
        return _page(catalog.orders[customer_id], views.order)

    @app.get(f"{PREFIX}/products/<sku>")
    def product(sku: str) -> Response:
        variant = catalog.variants.get(sku)
        if variant is None:
            raise ApiError(404, "not_found", f"no product with SKU {sku!r}")
        return jsonify(views.variant(variant))

    @app.get(f"{PREFIX}/images/<name>")
    def image(name: str) -> Response:
        variant = views.images.get(f"images/{name}")
        if variant is None:
            raise ApiError(404, "not_found", "no such image")
        response = Response(_swatch_svg(variant), mimetype="image/svg+xml")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    @app.route(ADMIN_FAULTS, methods=["GET", "PUT", "DELETE"])
    def admin_faults() -> Response | tuple[Response, int]:
        if request.method == "PUT":
            try:
                loaded = _FaultSchema(many=True).load(
                    (request.get_json(silent=True) or {}).get("faults", [])
                )
            except ValidationError as error:
                raise ApiError(422, "invalid_request", str(error.messages)) from error
            faults.replace(loaded)
        elif request.method == "DELETE":
            faults.clear()
        return jsonify({"faults": _FaultSchema(many=True).dump(faults.active())})

    return app


def _amounts_as_numbers(value: Any) -> Any:
    """The same document with every money amount a JSON number: a classic integration bug."""
    if isinstance(value, dict):
        return {
            k: float(v) if k == "amount" and isinstance(v, str) else _amounts_as_numbers(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_amounts_as_numbers(v) for v in value]
    return value


def _swatch_svg(variant: Variant) -> str:
    letter = escape(variant.name[:1].upper())
    ink = "#222" if variant.colour in ("Ivory", "White", "Khaki", "Tan", "Camel") else "#fff"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="112" height="112" viewBox="0 0 112 112">'
        f'<rect width="112" height="112" rx="12" fill="{variant.colour_hex}"/>'
        f'<text x="56" y="70" font-family="sans-serif" font-size="44" text-anchor="middle" '
        f'fill="{ink}">{letter}</text></svg>'
    )


# ---------------------------------------------------------------------------------------------
# Serving


def today_utc() -> datetime:
    """Midnight UTC today: the default anchor, so a day's runs serve identical data."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class RunningStore:
    """A store serving in a background thread."""

    url: str
    catalog: Catalog
    faults: Faults
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    requests: RequestCounter = field(default_factory=RequestCounter)

    def shutdown(self) -> None:
        """Stop serving and release the port."""
        self.faults.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_in_thread(
    port: int,
    host: str = "127.0.0.1",
    api_key: str = DEFAULT_API_KEY,
    *,
    seed: int = DEFAULT_SEED,
    anchor: datetime | None = None,
    faults: Iterable[Fault] = (),
) -> RunningStore:
    """Serve the store on host:port in a daemon thread; returns once it accepts connections."""
    catalog = _generate(seed, anchor=anchor or today_utc())
    injected = Faults(faults)
    counter = RequestCounter()
    # In the demo it shares a terminal with the hub: no line per request.
    server = make_server(
        host,
        port,
        create_app(catalog, api_key, injected, counter),
        threaded=True,
        request_handler=QuietRequestHandler,
    )
    # A short poll keeps shutdown() quick for tests that start a store each.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"online-store-{server.port}",
        daemon=True,
    )
    thread.start()
    _wait_until_accepting(host, server.port)
    url = f"http://{host}:{server.port}"
    return RunningStore(url, catalog, injected, server, thread, counter)


def _wait_until_accepting(host: str, port: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the reference online store in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m store_hub.demo.online_store")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    catalog = _generate(args.seed, anchor=today_utc())
    faults = Faults([Fault(latency_s=args.latency)] if args.latency else [])
    server = make_server(
        args.host, args.port, create_app(catalog, args.api_key, faults), threaded=True
    )
    print(f"Reference online store on http://{args.host}:{server.port}{PREFIX}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
