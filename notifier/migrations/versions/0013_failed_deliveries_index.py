"""a partial index of deliveries that failed after a claim, for the lost-fallback sweep

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same text as notifier.tables.deliveries.FAILED_AFTER_CLAIM.
FAILED_AFTER_CLAIM = "status IN ('failed', 'suppressed') AND attempts > 0"


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_failed_claimed",
        "deliveries",
        ["claimed_at"],
        postgresql_where=sa.text(FAILED_AFTER_CLAIM),
        sqlite_where=sa.text(FAILED_AFTER_CLAIM),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_failed_claimed", table_name="deliveries")
