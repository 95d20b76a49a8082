"""Associates who sign in on the tablet, and their claims on shoppers.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The associates and visit_claims tables."""
    op.create_table(
        "associates",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("store_id", "email", name="uq_associates_store_email"),
    )
    op.create_table(
        "visit_claims",
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("associate_id", sa.String(32), sa.ForeignKey("associates.id"), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_visit_claims_associate_id", "visit_claims", ["associate_id"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("visit_claims")
    op.drop_table("associates")
