"""Associates' notes on customers, and the audit log of card views.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The customer_notes and card_views tables."""
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("associate_id", sa.String(32), sa.ForeignKey("associates.id"), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_customer_notes_customer_id", "customer_notes", ["customer_id"])
    op.create_table(
        "card_views",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("associate_id", sa.String(32), sa.ForeignKey("associates.id"), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_card_views_customer_id", "card_views", ["customer_id"])
    op.create_index("ix_card_views_associate_id", "card_views", ["associate_id"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("card_views")
    op.drop_table("customer_notes")
