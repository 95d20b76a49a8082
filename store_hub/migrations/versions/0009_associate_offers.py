"""Offers sent by associates from templates: who sent each, and the tablet's idempotency key.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Two nullable columns on offer_decisions; rules' decisions leave them empty."""
    # Batch mode: SQLite cannot add a foreign key or unique constraint to an existing table.
    with op.batch_alter_table("offer_decisions") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("request_key", sa.String(128), nullable=True))
        batch.create_foreign_key(
            "fk_offer_decisions_decided_by", "associates", ["decided_by"], ["id"]
        )
        batch.create_unique_constraint("uq_offer_decisions_request", ["store_id", "request_key"])


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("offer_decisions") as batch:
        batch.drop_constraint("uq_offer_decisions_request", type_="unique")
        batch.drop_constraint("fk_offer_decisions_decided_by", type_="foreignkey")
        batch.drop_column("request_key")
        batch.drop_column("decided_by")
