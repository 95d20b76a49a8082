"""Each agent's receiver offset as the hub measured it, kept across restarts.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nullable: unknown until the hub has measured the agent."""
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("measured_offset_db", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop the column (batch mode: older SQLite cannot drop a column in place)."""
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("measured_offset_db")
