"""Offers with the rule engine's terms, QR token and state times; decisions with their terms;
the redemptions ledger.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_MONEY = sa.Numeric(12, 3)
_TS = sa.DateTime(timezone=True)


def _keep_decision_links() -> list[Any]:
    # SQLite's batch mode rebuilds `offers` (drop and rename); with foreign keys on, dropping it
    # fires ON DELETE SET NULL on offer_decisions.offer_id. Remember the links to put them back.
    if op.get_bind().dialect.name != "sqlite":
        return []
    rows = op.get_bind().execute(
        sa.text("SELECT id, offer_id FROM offer_decisions WHERE offer_id IS NOT NULL")
    )
    return list(rows)


def _restore_decision_links(links: list[Any]) -> None:
    for decision_id, offer_id in links:
        op.get_bind().execute(
            sa.text("UPDATE offer_decisions SET offer_id = :o WHERE id = :d"),
            {"o": offer_id, "d": decision_id},
        )


def upgrade() -> None:
    """New offer and decision columns (old rows filled in), and the redemptions table."""
    links = _keep_decision_links()
    with op.batch_alter_table("offers") as batch:
        for name, type_ in (
            ("kind", sa.String(16)),
            ("scope", sa.String(16)),
            ("item_name", sa.String(200)),
            ("category", sa.String(64)),
            ("locale", sa.String(16)),
            ("amount_off", _MONEY),
            ("original_price", _MONEY),
            ("liability", _MONEY),
            ("min_spend", _MONEY),
            ("qr_token", sa.Text()),
            ("opened_at", _TS),
            ("redeemed_at", _TS),
            ("voided_at", _TS),
            ("delivery_status", sa.String(16)),
            ("delivery_attempts", sa.Integer()),
        ):
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.alter_column("sku", existing_type=sa.String(64), nullable=True)
        batch.alter_column("percent_off", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("discount", existing_type=sa.Numeric(12, 2), type_=_MONEY, nullable=True)
    # The walking skeleton issued only percent-off-an-item offers.
    op.execute(
        "UPDATE offers SET kind = 'percent', scope = 'item', locale = 'en', liability = discount,"
        " delivery_attempts = CASE WHEN delivered_at IS NULL THEN 0 ELSE 1 END,"
        " delivery_status = CASE WHEN delivered_at IS NULL THEN 'failed' ELSE 'delivered' END"
    )
    with op.batch_alter_table("offers") as batch:
        for name, type_ in (
            ("kind", sa.String(16)),
            ("scope", sa.String(16)),
            ("locale", sa.String(16)),
            ("liability", _MONEY),
            ("delivery_status", sa.String(16)),
            ("delivery_attempts", sa.Integer()),
        ):
            batch.alter_column(name, existing_type=type_, nullable=False)

    with op.batch_alter_table("offer_decisions") as batch:
        batch.add_column(sa.Column("trigger", sa.String(32), nullable=True))
        batch.add_column(sa.Column("detail", sa.String(200), nullable=True))
        batch.add_column(sa.Column("terms", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("liability", _MONEY, nullable=True))
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))
    # The skeleton's vocabulary, in the rule engine's words.
    op.execute(
        "UPDATE offer_decisions SET trigger = 'arrived', detail = '',"
        " outcome = CASE WHEN outcome = 'sent' THEN 'send' ELSE 'no_send' END,"
        " reason = CASE reason WHEN 'issued' THEN 'sent'"
        " WHEN 'nothing_of_interest' THEN 'nothing_to_offer' ELSE reason END"
    )
    with op.batch_alter_table("offer_decisions") as batch:
        batch.alter_column("trigger", existing_type=sa.String(32), nullable=False)
        batch.alter_column("detail", existing_type=sa.String(200), nullable=False)
    op.create_index("ix_offer_decisions_store_day", "offer_decisions", ["store_id", "decided_at"])
    op.create_index("ix_offer_decisions_visit", "offer_decisions", ["visit_id"])
    _restore_decision_links(links)

    op.create_table(
        "redemptions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("offer_id", sa.String(32), sa.ForeignKey("offers.id"), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("voided_at", _TS, nullable=True),
        sa.UniqueConstraint("store_id", "idempotency_key", name="uq_redemptions_idempotency"),
    )
    op.create_index("ix_redemptions_offer_id", "redemptions", ["offer_id"])


def downgrade() -> None:
    """Drop the ledger and the new columns (offers other than percent-off-an-item are lost)."""
    op.drop_table("redemptions")
    op.drop_index("ix_offer_decisions_visit", "offer_decisions")
    op.drop_index("ix_offer_decisions_store_day", "offer_decisions")
    links = _keep_decision_links()
    with op.batch_alter_table("offer_decisions") as batch:
        for name in ("trigger", "detail", "terms", "liability", "currency"):
            batch.drop_column(name)
    op.execute("DELETE FROM offers WHERE sku IS NULL OR percent_off IS NULL OR discount IS NULL")
    with op.batch_alter_table("offers") as batch:
        for name in (
            "kind", "scope", "item_name", "category", "locale", "amount_off", "original_price",
            "liability", "min_spend", "qr_token", "opened_at", "redeemed_at", "voided_at",
            "delivery_status", "delivery_attempts",
        ):  # fmt: skip
            batch.drop_column(name)
        batch.alter_column("sku", existing_type=sa.String(64), nullable=False)
        batch.alter_column("percent_off", existing_type=sa.Integer(), nullable=False)
        batch.alter_column(
            "discount", existing_type=_MONEY, type_=sa.Numeric(12, 2), nullable=False
        )
    _restore_decision_links(links)
