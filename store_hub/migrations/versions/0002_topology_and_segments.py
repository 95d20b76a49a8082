"""Store topology (zones, agents with their health) and visit zone segments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("zone_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("x_m", sa.Float(), nullable=True),
        sa.Column("y_m", sa.Float(), nullable=True),
        _ts("updated_at"),
    )
    op.create_table(
        "agents",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.String(64), primary_key=True),
        sa.Column("approval", sa.String(16), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=True),
        sa.Column("calibration_offset_db", sa.Float(), nullable=False),
        sa.Column("report_interval_s", sa.Float(), nullable=True),
        _ts("registered_at", nullable=True),
        _ts("approved_at", nullable=True),
        _ts("first_seen_at", nullable=True),
        _ts("last_seen_at", nullable=True),
        _ts("last_report_at", nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("boot_id", sa.String(64), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=True),
        sa.Column("gaps", sa.Integer(), nullable=False),
        sa.Column("clock_offset_s", sa.Float(), nullable=True),
        sa.Column("status_state", sa.String(16), nullable=True),
        _ts("status_at", nullable=True),
        sa.Column("telemetry", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id", "zone_id"], ["zones.store_id", "zones.zone_id"], name="fk_agents_zone"
        ),
    )
    op.create_table(
        "visit_segments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "visit_id",
            sa.String(32),
            sa.ForeignKey("visits.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("zone", sa.String(64), nullable=False),
        _ts("entered_at"),
        _ts("left_at", nullable=True),
    )
    op.create_index("ix_visit_segments_visit_id", "visit_segments", ["visit_id"])


def downgrade() -> None:
    for table in ("visit_segments", "agents", "zones"):
        op.drop_table(table)
