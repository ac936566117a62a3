"""The outbox's lease owner, so a restarted sender takes its own leases back at once, and an
index for claiming each recipient's oldest pending message.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch_op.create_index(
            "ix_outbox_channel_status_recipient_id",
            ["channel", "status", "recipient", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_channel_status_recipient_id")
        batch_op.drop_column("claimed_by")
