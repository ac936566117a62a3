"""Outbox delivery bookkeeping (leases, parts sent, retries) and failed inbound events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("plan_context", sa.JSON(), nullable=True))
    op.create_table(
        "channel_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("keyboard_message_id", sa.String(length=64), nullable=True),
        sa.Column("unreachable_since", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_contacts")),
        sa.UniqueConstraint("channel", "user_ref", name=op.f("uq_channel_contacts_channel")),
    )
    op.create_table(
        "failed_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_events")),
    )


def downgrade() -> None:
    op.drop_table("failed_events")
    op.drop_table("channel_contacts")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("plan_context")
        batch_op.drop_column("last_error")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("parts_sent")
        batch_op.drop_column("claimed_until")
