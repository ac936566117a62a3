"""Privacy: applied webhook bodies are dropped; retention reaches inbox and failed events.

From now on a body is stored sealed and dropped when it is applied or given up; this clears
the bodies earlier versions kept after that. Bodies still waiting stay (they are read in
the clear once, then dropped).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("UPDATE inbound_events SET body = '' WHERE processed_at IS NOT NULL"))
    # retention deletes these rows by age
    op.create_index("ix_inbound_events_received_at", "inbound_events", ["received_at"])
    op.create_index("ix_failed_events_at", "failed_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_failed_events_at", "failed_events")
    op.drop_index("ix_inbound_events_received_at", "inbound_events")
    # a dropped body is not brought back
