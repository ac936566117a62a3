"""Calendar rule ids are never given again: SQLite's table gets AUTOINCREMENT.

Operators remove a rule by its id; without AUTOINCREMENT SQLite hands the highest id out
again after a delete, so an old note or script could remove the wrong rule. PostgreSQL's
sequence never reuses an id and is left alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "calendar_rules", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("calendar_rules", recreate="always"):
        pass
