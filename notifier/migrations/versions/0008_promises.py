"""promised next updates and maintenance reminders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import notifier.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "incidents",
        sa.Column("reminded_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "promises",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("incident_id", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.String(length=16), nullable=False),
        sa.Column("due_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("kept_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("broken_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_promises_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["incident_updates.id"],
            name=op.f("fk_promises_update_id_incident_updates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises")),
    )
    op.create_index(op.f("ix_promises_incident_id"), "promises", ["incident_id"], unique=False)
    op.create_index(
        "ix_promises_open_due", "promises", ["kept_at", "broken_at", "due_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_promises_open_due", table_name="promises")
    op.drop_index(op.f("ix_promises_incident_id"), table_name="promises")
    op.drop_table("promises")
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_column("reminded_at")
