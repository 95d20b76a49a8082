"""The demo store's stock for the generated catalogue: some variants in, some sold out."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from store_hub.config import HubConfig
from store_hub.demo.catalog import DEFAULT_SEED, Catalog, generate_catalog
from store_hub.operations.stock import StockRow, product_code_for

# Roughly how a store floor is laid out; a rail number per product within its department.
DEPARTMENTS = {
    "knitwear": "Womenswear",
    "tops": "Womenswear",
    "dresses": "Womenswear",
    "trousers": "Menswear",
    "denim": "Menswear",
    "outerwear": "Outerwear",
    "shoes": "Shoes",
    "accessories": "Accessories",
}
# About a third of variants sold out, so the demo shows both "in stock here" and "not here".
SOLD_OUT_SHARE = 0.35


def demo_stock(catalog: Catalog, seed: int = 7) -> list[StockRow]:
    """A stock count and location for every variant of the catalogue, the same every run."""
    rng = random.Random(seed)
    rails: dict[str, int] = {}
    rows = []
    for sku in sorted(catalog.variants):
        variant = catalog.variants[sku]
        department = DEPARTMENTS.get(variant.category, "Store")
        rail = rails.setdefault(variant.product_id, rng.randint(1, 24))
        on_hand = 0 if rng.random() < SOLD_OUT_SHARE else rng.randint(1, 6)
        rows.append(
            StockRow(
                sku=sku,
                on_hand=on_hand,
                location=f"{department}, rail {rail}",
                size=variant.size,
                colour=variant.colour,
                product_code=product_code_for(sku, variant.size),
            )
        )
    return rows


def seed_demo_stock(config: HubConfig) -> int:
    """Fill the demo store's stock at start; how many SKUs."""
    from store_hub.adapters.db.engine import Database
    from store_hub.demo.online_store import today_utc
    from store_hub.operations.stock import upsert_stock

    catalog = generate_catalog(DEFAULT_SEED, anchor=today_utc())
    db = Database.connect(config.database_url)
    try:
        with db.transaction() as session:
            return upsert_stock(session, config.store_id, demo_stock(catalog), datetime.now(UTC))
    finally:
        db.dispose()
