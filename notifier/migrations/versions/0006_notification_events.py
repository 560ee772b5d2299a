"""notifications say which event they tell

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows written before: their event from the kind and the update's status. Whether an
# update was its subject's first is not worth the reading for messages already sent.
_BACKFILL = """
UPDATE notifications SET event = CASE kind
  WHEN 'problem_update' THEN
    CASE (SELECT status FROM delivery_problem_updates u WHERE u.id = notifications.update_id)
      WHEN 'resolved' THEN 'problem_resolved' ELSE 'problem_updated' END
  WHEN 'maintenance_update' THEN
    CASE (SELECT status FROM incident_updates u WHERE u.id = notifications.update_id)
      WHEN 'in_progress' THEN 'maintenance_started'
      WHEN 'completed' THEN 'maintenance_completed'
      WHEN 'cancelled' THEN 'maintenance_cancelled'
      ELSE 'maintenance_updated' END
  ELSE
    CASE (SELECT status FROM incident_updates u WHERE u.id = notifications.update_id)
      WHEN 'resolved' THEN 'incident_resolved' ELSE 'incident_updated' END
END
"""


def upgrade() -> None:
    op.add_column("notifications", sa.Column("event", sa.String(length=32), nullable=True))
    op.execute(_BACKFILL)
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.alter_column("event", existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_column("event")
