"""every customer addressable: page sign-ups get an external_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As notifier.tables.customers.page_external_id makes them (copied: a migration
# must not change when the code does).
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_BATCH = 1000

customers = sa.table(
    "customers",
    sa.column("id", sa.String),
    sa.column("external_id", sa.String),
    sa.column("erased_at", sa.DateTime),
)


def _page_id() -> str:
    return "page_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


def upgrade() -> None:
    # Customers who signed up on the page had none, so the ops API could not read,
    # export or erase them. Erased customers keep none: nothing names them any more.
    connection = op.get_bind()
    ids = connection.scalars(
        sa.select(customers.c.id).where(
            customers.c.external_id.is_(None), customers.c.erased_at.is_(None)
        )
    ).all()
    assign = (
        customers.update()
        .where(customers.c.id == sa.bindparam("_id"))
        .values(external_id=sa.bindparam("_external_id"))
    )
    for start in range(0, len(ids), _BATCH):
        rows = [{"_id": i, "_external_id": _page_id()} for i in ids[start : start + _BATCH]]
        connection.execute(assign, rows)


def downgrade() -> None:
    # Nothing to undo: the ids are valid external_ids for the code before this one too.
    pass
