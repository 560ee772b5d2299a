"""signups and quiet hours

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import notifier.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Pending sign-ups from the public page (and the outbox row of their message).
    op.create_table(
        "signups",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=True),
        sa.Column("page", sa.Boolean(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_signups_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signups")),
    )
    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.create_index("ix_signups_address", ["channel", "address"], unique=False)
        batch_op.create_index(batch_op.f("ix_signups_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_signups_expires_at", ["expires_at"], unique=False)

    # Quiet hours, local times in the customer's zone (honoured by the delivery engine).
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_hours_start", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("quiet_hours_end", sa.Time(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("quiet_hours_end")
        batch_op.drop_column("quiet_hours_start")

    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.drop_index("ix_signups_expires_at")
        batch_op.drop_index(batch_op.f("ix_signups_customer_id"))
        batch_op.drop_index("ix_signups_address")

    op.drop_table("signups")
