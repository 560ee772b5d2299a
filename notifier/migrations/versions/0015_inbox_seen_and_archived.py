"""in-app messages can be seen (the feed showed them) and archived, apart from read

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import notifier.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "inbox_messages",
        sa.Column("seen_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "inbox_messages",
        sa.Column("archived_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
    )
    # A message read before there was "seen" was seen when it was read.
    op.execute("UPDATE inbox_messages SET seen_at = read_at WHERE read_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("inbox_messages") as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("seen_at")
