"""Store stock and in-store sales.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _money(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Numeric(12, 2), nullable=False)


def upgrade() -> None:
    """Inventory by store and SKU; receipts and their lines."""
    op.create_table(
        "inventory",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("product_code", sa.String(64), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(100), nullable=True),
        sa.Column("size", sa.String(32), nullable=True),
        sa.Column("colour", sa.String(32), nullable=True),
        _ts("updated_at"),
    )
    op.create_index("ix_inventory_product", "inventory", ["store_id", "product_code"])
    op.create_table(
        "sales",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("receipt_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        _ts("sold_at"),
        sa.Column("currency", sa.String(3), nullable=False),
        _money("subtotal"),
        _money("discount_total"),
        _money("total"),
        sa.Column("payment_type", sa.String(32), nullable=False),
        sa.Column("offer_codes", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        _ts("recorded_at"),
        sa.UniqueConstraint("store_id", "receipt_id", name="uq_sales_receipt"),
    )
    op.create_index("ix_sales_customer", "sales", ["customer_id", "sold_at"])
    op.create_table(
        "sale_lines",
        sa.Column(
            "sale_id",
            sa.String(32),
            sa.ForeignKey("sales.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("line_no", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        _money("unit_price"),
        _money("discount"),
        _money("line_total"),
    )


def downgrade() -> None:
    """Drop them again."""
    for table in ("sale_lines", "sales", "inventory"):
        op.drop_table(table)
