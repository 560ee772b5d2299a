"""customers and sign-ups carry a given and a family name instead of one string

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CUSTOMERS = sa.table(
    "customers",
    sa.column("id", sa.String),
    sa.column("locale", sa.String),
    sa.column("name", sa.String),
    sa.column("given_name", sa.String),
    sa.column("family_name", sa.String),
)


def split_name(name: str | None, locale: str) -> tuple[str | None, str | None]:
    """(given, family) from one stored name.

    Japanese names are written family first ("山田 太郎": family 山田, given 太郎).
    Others are given first, and the first word is the given name, the rest the family
    name, so particles stay with it ("Anna van der Berg": Anna, "van der Berg"). A single
    word is a given name: we cannot tell, and "Hi Taro" or "太郎様" reads better than a
    guessed family name.
    """
    words = (name or "").split()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    if locale == "ja":
        return " ".join(words[1:]), words[0]
    return words[0], " ".join(words[1:])


def upgrade() -> None:
    for table in ("customers", "signups"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("given_name", sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column("family_name", sa.String(length=200), nullable=True))
    bind = op.get_bind()
    named = bind.execute(
        sa.select(_CUSTOMERS.c.id, _CUSTOMERS.c.locale, _CUSTOMERS.c.name).where(
            _CUSTOMERS.c.name.is_not(None)
        )
    ).all()
    for row in named:
        given, family = split_name(row.name, row.locale)
        bind.execute(
            sa.update(_CUSTOMERS)
            .where(_CUSTOMERS.c.id == row.id)
            .values(given_name=given, family_name=family)
        )
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_column("name")


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=True))
    # Joined back in the order the locale writes them.
    name = sa.case(
        (
            _CUSTOMERS.c.locale == "ja",
            sa.func.trim(
                sa.func.coalesce(_CUSTOMERS.c.family_name, "")
                + " "
                + sa.func.coalesce(_CUSTOMERS.c.given_name, "")
            ),
        ),
        else_=sa.func.trim(
            sa.func.coalesce(_CUSTOMERS.c.given_name, "")
            + " "
            + sa.func.coalesce(_CUSTOMERS.c.family_name, "")
        ),
    )
    op.execute(sa.update(_CUSTOMERS).values(name=sa.func.nullif(name, "")))
    for table in ("signups", "customers"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("family_name")
            batch_op.drop_column("given_name")
