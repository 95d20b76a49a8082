"""The reference online store's generated data: the same every run, and enough for the demo."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from store_hub.demo.catalog import (
    DEFAULT_SEED,
    DEMO_CUSTOMERS,
    TIERS,
    Catalog,
    generate_catalog,
)

ANCHOR = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
# lru_cache would hand back the same object; determinism needs two real generations.
generate = generate_catalog.__wrapped__


def digest(catalog: Catalog) -> str:
    return hashlib.sha256(repr(catalog).encode()).hexdigest()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(DEFAULT_SEED, anchor=ANCHOR)


def test_two_generations_are_identical(catalog: Catalog) -> None:
    assert generate(DEFAULT_SEED, anchor=ANCHOR) == catalog


def test_another_process_with_another_hash_seed_generates_the_same_data(
    catalog: Catalog,
) -> None:
    # String hashing differs per process; nothing in the data may depend on it.
    script = (
        "from datetime import datetime, UTC; import hashlib;"
        "from store_hub.demo.catalog import generate_catalog as g;"
        f"c = g({DEFAULT_SEED}, anchor=datetime(2026, 11, 24, 9, tzinfo=UTC));"
        "print(hashlib.sha256(repr(c).encode()).hexdigest())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        timeout=60,
        check=True,
    )

    assert result.stdout.strip() == digest(catalog)


def test_the_seed_matters() -> None:
    other = generate(DEFAULT_SEED + 1, anchor=ANCHOR)

    assert digest(other) != digest(generate(DEFAULT_SEED, anchor=ANCHOR))


def test_the_anchor_moves_every_time_and_nothing_else(catalog: Catalog) -> None:
    later = generate(DEFAULT_SEED, anchor=ANCHOR + timedelta(days=1))

    day = timedelta(days=1)
    customer = later.customers["c0001"]
    before = catalog.customers["c0001"]
    assert replace(customer, created_at=customer.created_at - day) == before
    assert later.variants == catalog.variants
    assert [o.placed_at - day for o in later.orders["c0007"]] == [
        o.placed_at for o in catalog.orders["c0007"]
    ]


def test_naive_anchor_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(DEFAULT_SEED, anchor=datetime(2026, 11, 24))


def test_a_shop_of_a_realistic_size(catalog: Catalog) -> None:
    assert list(catalog.customers) == [f"c{n:04d}" for n in range(1, len(catalog.customers) + 1)]
    assert 300 <= len(catalog.customers) <= 1000
    assert 2000 <= len(catalog.variants) <= 9000
    assert sum(bool(w) for w in catalog.wishlists.values()) > 100
    assert sum(len(o) for o in catalog.orders.values()) > 1000
    emails = [c.email for c in catalog.customers.values()]
    assert len(set(emails)) == len(emails)


def test_demo_shoppers_have_what_the_demo_shows(catalog: Catalog) -> None:
    for customer_id in DEMO_CUSTOMERS:
        customer = catalog.customers[customer_id]
        assert customer.first_name and customer.last_name and customer.sizes
        assert catalog.wishlists[customer_id], customer_id
        assert catalog.orders[customer_id], customer_id
    with_cart = [
        c for c in DEMO_CUSTOMERS if any(x.status == "abandoned" for x in catalog.carts[c])
    ]
    assert len(with_cart) >= 9
    assert "c0001" in with_cart
    assert all(x.lines for c in with_cart for x in catalog.carts[c])


def test_every_reference_resolves_and_every_sum_adds_up(catalog: Catalog) -> None:
    for customer_id, customer in catalog.customers.items():
        assert customer.loyalty_tier in TIERS
        entries = catalog.wishlists[customer_id]
        assert all(e.sku in catalog.variants for e in entries)
        for cart in catalog.carts[customer_id]:
            assert cart.status in ("abandoned", "active")
            assert cart.created_at <= cart.updated_at <= ANCHOR
            assert cart.total == sum(x.unit_price * x.quantity for x in cart.lines)
            assert all(x.sku in catalog.variants and x.quantity >= 1 for x in cart.lines)
        orders = catalog.orders[customer_id]
        assert [o.placed_at for o in orders] == sorted((o.placed_at for o in orders), reverse=True)
        assert all(x.sku in catalog.variants for o in orders for x in o.lines)
        kept = sum((o.total for o in orders if o.status != "returned"), Decimal("0.00"))
        assert customer.lifetime_value == kept
        assert customer.created_at <= ANCHOR


def test_prices_are_exact_money(catalog: Catalog) -> None:
    for variant in catalog.variants.values():
        assert variant.price > 0
        assert variant.price.as_tuple().exponent == -2, variant.sku
        assert variant.sku.startswith(variant.product_id)
    assert any(v.image_path is None for v in catalog.variants.values())
    assert any(v.image_path is not None for v in catalog.variants.values())
