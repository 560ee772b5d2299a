"""care policies: urgency and impact on notifications, the only-unresolved preference,
held deliveries in the unfinished index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The sender and the sweeper now look for held rows too (DeliveryStatus.unfinished).
UNFINISHED = "status IN ('pending', 'sending', 'held')"
_BEFORE = "status IN ('pending', 'sending')"


def _index(where: str) -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_index("ix_deliveries_status_due")
        batch_op.create_index(
            "ix_deliveries_status_due",
            ["status", "next_attempt_at"],
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def upgrade() -> None:
    op.add_column(
        "notifications",
        sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("notifications", sa.Column("impact", sa.String(length=16), nullable=True))
    op.add_column(
        "customers",
        sa.Column("only_unresolved", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _index(UNFINISHED)


def downgrade() -> None:
    op.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'held'")
    _index(_BEFORE)
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_column("only_unresolved")
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_column("impact")
        batch_op.drop_column("urgent")
