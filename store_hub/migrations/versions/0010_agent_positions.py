"""Agents' floor positions and zones' rectangles, in the zones' frame, for the position tracker.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ZONE_BOUNDS = ("x0_m", "y0_m", "x1_m", "y1_m")


def upgrade() -> None:
    """Nullable columns: unknown until IT measures the agents and draws the zones."""
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("x_m", sa.Float(), nullable=True))
        batch.add_column(sa.Column("y_m", sa.Float(), nullable=True))
    with op.batch_alter_table("zones") as batch:
        for name in _ZONE_BOUNDS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def _unlink_agents_from_zones() -> list[Any]:
    # SQLite's batch mode rebuilds `zones` (drop and rename); with foreign keys on, dropping it
    # fails while agents refer to it. Take the links off for the rebuild and put them back after.
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return []
    links = list(
        bind.execute(
            sa.text("SELECT store_id, agent_id, zone_id FROM agents WHERE zone_id IS NOT NULL")
        )
    )
    bind.execute(sa.text("UPDATE agents SET zone_id = NULL WHERE zone_id IS NOT NULL"))
    return links


def _relink_agents(links: list[Any]) -> None:
    for store_id, agent_id, zone_id in links:
        op.get_bind().execute(
            sa.text("UPDATE agents SET zone_id = :z WHERE store_id = :s AND agent_id = :a"),
            {"z": zone_id, "s": store_id, "a": agent_id},
        )


def downgrade() -> None:
    """Drop the columns."""
    links = _unlink_agents_from_zones()
    # Batch mode: older SQLite cannot drop a column in place.
    with op.batch_alter_table("zones") as batch:
        for name in reversed(_ZONE_BOUNDS):
            batch.drop_column(name)
    _relink_agents(links)
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("y_m")
        batch.drop_column("x_m")
