"""Versions of the terms of use (art. 13): each office's versions with their effective
date and summaries, their texts per language, and who was told of which version (once).

The shipped 2022-04-01 text becomes an office's version 1 on first use
(`storage/terms_versions.py`), so offices created later get it too.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terms_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("summaries", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_terms_versions_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms_versions")),
        sa.UniqueConstraint("office_id", "number", name=op.f("uq_terms_versions_office_id")),
        sa.UniqueConstraint(
            "office_id", "effective_on", name="uq_terms_versions_office_id_effective_on"
        ),
    )
    op.create_table(
        "terms_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["terms_versions.id"],
            name=op.f("fk_terms_texts_version_id_terms_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms_texts")),
        sa.UniqueConstraint("version_id", "language", name=op.f("uq_terms_texts_version_id")),
    )
    op.create_table(
        "terms_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("told_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["terms_versions.id"],
            name=op.f("fk_terms_notices_version_id_terms_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms_notices")),
        sa.UniqueConstraint("version_id", "pseudonym", name=op.f("uq_terms_notices_version_id")),
    )
    op.create_index(
        op.f("ix_terms_notices_version_id"), "terms_notices", ["version_id"], unique=False
    )
    op.create_index(
        op.f("ix_terms_notices_pseudonym"), "terms_notices", ["pseudonym"], unique=False
    )
    op.create_index(op.f("ix_terms_notices_told_at"), "terms_notices", ["told_at"], unique=False)


def downgrade() -> None:
    op.drop_table("terms_notices")
    op.drop_table("terms_texts")
    op.drop_table("terms_versions")
