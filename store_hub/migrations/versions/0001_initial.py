"""Devices, push subscriptions, visits, offers and offer decisions.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _nullable_fk(name: str, target: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(32), sa.ForeignKey(target, ondelete="SET NULL"), nullable=True)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("identity_key", sa.LargeBinary(16), nullable=False),
        sa.Column("rotation_exponent", sa.Integer(), nullable=False),
        sa.Column("consent_presence", sa.Boolean(), nullable=False),
        sa.Column("consent_offers", sa.Boolean(), nullable=False),
        sa.Column("consent_associate_view", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
    )
    op.create_index("ix_devices_customer_id", "devices", ["customer_id"])
    op.create_table(
        "push_subscriptions",
        sa.Column(
            "device_id",
            sa.String(32),
            sa.ForeignKey("devices.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=True),
        sa.Column("p256dh", sa.String(128), nullable=True),
        sa.Column("auth", sa.String(64), nullable=True),
        sa.Column("fcm_token", sa.Text(), nullable=True),
        _ts("updated_at"),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column(
            "device_id",
            sa.String(32),
            sa.ForeignKey("devices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("customer_id", sa.String(64), nullable=False),
        _ts("arrived_at"),
        _ts("last_seen"),
        _ts("departed_at", nullable=True),
        sa.Column("zone", sa.String(64), nullable=True),
        sa.Column("card", sa.JSON(), nullable=True),
    )
    op.create_index("ix_visits_open", "visits", ["store_id", "departed_at"])
    op.create_index("ix_visits_device_id", "visits", ["device_id"])
    op.create_index("ix_visits_customer_id", "visits", ["customer_id"])
    op.create_table(
        "offers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column(
            "device_id",
            sa.String(32),
            sa.ForeignKey("devices.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("issued_at"),
        _ts("expires_at"),
        _ts("delivered_at", nullable=True),
        sa.Column("delivery_detail", sa.String(200), nullable=True),
    )
    op.create_index("ix_offers_customer_id", "offers", ["customer_id"])
    op.create_table(
        "offer_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column(
            "offer_id",
            sa.String(32),
            sa.ForeignKey("offers.id", ondelete="SET NULL"),
            nullable=True,
        ),
        _ts("decided_at"),
    )
    op.create_index("ix_offer_decisions_customer_id", "offer_decisions", ["customer_id"])


def downgrade() -> None:
    for table in ("offer_decisions", "offers", "visits", "push_subscriptions", "devices"):
        op.drop_table(table)
