"""A durable inbox of verified webhook bodies (LINE acknowledges first, applies after).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
    )
    op.create_index(
        "ix_inbound_events_pending", "inbound_events", ["channel", "processed_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_events_pending", table_name="inbound_events")
    op.drop_table("inbound_events")
