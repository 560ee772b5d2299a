"""rating prompts, ratings, follow-ups and contacts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import notifier.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("contacted_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_contacts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("external_id", name=op.f("uq_contacts_external_id")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_contacts_subject", ["subject_type", "subject_id"], unique=False)

    op.create_table(
        "rating_prompts",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=16), nullable=False),
        sa.Column("scale", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notification_id", sa.String(length=16), nullable=True),
        sa.Column("sent_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("clarified_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_rating_prompts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_prompts")),
        sa.UniqueConstraint(
            "customer_id", "subject_type", "subject_id", name=op.f("uq_rating_prompts_customer_id")
        ),
    )
    with op.batch_alter_table("rating_prompts", schema=None) as batch_op:
        batch_op.create_index("ix_rating_prompts_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "ix_rating_prompts_subject", ["subject_type", "subject_id"], unique=False
        )

    op.create_table(
        "ratings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("prompt_id", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=16), nullable=False),
        sa.Column("scale", sa.String(length=8), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_ratings_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["rating_prompts.id"],
            name=op.f("fk_ratings_prompt_id_rating_prompts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("prompt_id", name=op.f("uq_ratings_prompt_id")),
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index("ix_ratings_subject", ["subject_type", "subject_id"], unique=False)

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column(
            "rating_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", notifier.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("alerted_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", notifier.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=True),
        sa.Column("done_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["rating_id"],
            ["ratings.id"],
            name=op.f("fk_follow_ups_rating_id_ratings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("rating_id", name=op.f("uq_follow_ups_rating_id")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index("ix_follow_ups_open", ["done_at", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_ups_open")

    op.drop_table("follow_ups")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_subject")

    op.drop_table("ratings")
    with op.batch_alter_table("rating_prompts", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_prompts_subject")
        batch_op.drop_index("ix_rating_prompts_status_due")

    op.drop_table("rating_prompts")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_subject")
        batch_op.drop_index(batch_op.f("ix_contacts_customer_id"))

    op.drop_table("contacts")
