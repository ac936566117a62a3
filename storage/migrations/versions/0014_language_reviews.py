"""Language reviews: which translations a native speaker at the office has reviewed, by whom
and when (`madoguchi languages review CODE --by NAME`). Japanese (the original) and English
count as reviewed as shipped.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SHIPPED_BY = "as shipped"
"""The reviewer recorded for the languages the project ships reviewed (no time)."""


def upgrade() -> None:
    reviews = op.create_table(
        "language_reviews",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("reviewed_by", sa.String(length=128), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_language_reviews")),
    )
    op.bulk_insert(
        reviews,
        [
            {"code": "ja", "reviewed_by": SHIPPED_BY, "reviewed_at": None},
            {"code": "en", "reviewed_by": SHIPPED_BY, "reviewed_at": None},
        ],
    )


def downgrade() -> None:
    op.drop_table("language_reviews")
