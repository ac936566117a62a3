"""Change tokens on the office row: a new random token whenever its calendar rules or its
terms versions change, so a process may keep what it derived from them (the slots of the
days ahead, the versions to announce) for as long as the token it reads is the same.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("terms_token", sa.String(length=32), nullable=True))
    offices = sa.table("offices", sa.column("id", sa.Integer), sa.column("calendar_token"))
    bind = op.get_bind()
    for (office_id,) in bind.execute(sa.select(offices.c.id)).all():
        bind.execute(
            offices.update()
            .where(offices.c.id == office_id)
            .values(calendar_token=secrets.token_hex(8))
        )
    # terms_token stays empty until the office's versions are read once (seeded or found).


def downgrade() -> None:
    with op.batch_alter_table("offices", schema=None) as batch_op:
        batch_op.drop_column("terms_token")
        batch_op.drop_column("calendar_token")
