"""fallback and channel order: a customer's channel order, a delivery's fallback_of

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ORDERED = "channel_order IS NOT NULL"
_FALLBACKS = "fallback_of IS NOT NULL"
_UNREAD = "read_at IS NULL"


def upgrade() -> None:
    op.add_column("customers", sa.Column("channel_order", sa.JSON(), nullable=True))
    op.create_index(
        "ix_customers_channel_order",
        "customers",
        ["id"],
        postgresql_where=sa.text(_ORDERED),
        sqlite_where=sa.text(_ORDERED),
    )
    op.add_column(
        "deliveries",
        sa.Column("fallback_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
    )
    op.create_index(
        "ix_deliveries_fallback_of",
        "deliveries",
        ["fallback_of"],
        postgresql_where=sa.text(_FALLBACKS),
        sqlite_where=sa.text(_FALLBACKS),
    )
    op.create_index(
        "ix_inbox_messages_unread",
        "inbox_messages",
        ["created_at"],
        postgresql_where=sa.text(_UNREAD),
        sqlite_where=sa.text(_UNREAD),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_messages_unread", table_name="inbox_messages")
    op.drop_index("ix_deliveries_fallback_of", table_name="deliveries")
    op.drop_column("deliveries", "fallback_of")
    op.drop_index("ix_customers_channel_order", table_name="customers")
    op.drop_column("customers", "channel_order")
