"""What a shopper lets associates see of their card: one flag per part, all shared by default.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ("share_sizes", "share_wishlist_and_cart", "share_purchase_history", "share_contact")


def upgrade() -> None:
    """Add the flags; devices enrolled before them keep showing everything, as they did."""
    with op.batch_alter_table("devices") as batch:
        for name in COLUMNS:
            batch.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.true())
            )


def downgrade() -> None:
    """Drop the flags."""
    with op.batch_alter_table("devices") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
