"""Usage statistics (terms art. 7): per conversation the steps reached, channel, language and
outcome; per booking its days, lead time, accommodation kinds and how it ended. Rows carry a
random id of their own and nothing that names a person; conversations and bookings keep the
link (`usage_id`), which erasure and retention clear with them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_state", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('in_progress', 'booked', 'declined_terms', 'not_eligible')",
            name=op.f("ck_usage_sessions_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_usage_sessions_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_sessions")),
    )
    op.create_index(
        "ix_usage_sessions_office_id_started_at", "usage_sessions", ["office_id", "started_at"]
    )
    op.create_table(
        "usage_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("reached_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["usage_sessions.id"],
            name=op.f("fk_usage_steps_session_id_usage_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_steps")),
        sa.UniqueConstraint("session_id", "state", name=op.f("uq_usage_steps_session_id")),
    )
    op.create_table(
        "usage_bookings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("slot_day", sa.Date(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("accommodations", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("ended_by", sa.String(length=20), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'rescheduled', 'no_show')",
            name=op.f("ck_usage_bookings_status"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_usage_bookings_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["usage_sessions.id"],
            name=op.f("fk_usage_bookings_session_id_usage_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_bookings")),
    )
    op.create_index(
        "ix_usage_bookings_office_id_booked_on", "usage_bookings", ["office_id", "booked_on"]
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("usage_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("usage_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("usage_id")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("usage_id")
    op.drop_index("ix_usage_bookings_office_id_booked_on", "usage_bookings")
    op.drop_table("usage_bookings")
    op.drop_table("usage_steps")
    op.drop_index("ix_usage_sessions_office_id_started_at", "usage_sessions")
    op.drop_table("usage_sessions")
