"""The booking's life: reminders, waitlist, rescheduling, cut-off, retention settings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("change_cutoff_minutes", sa.Integer(), server_default="60", nullable=False)
        )
        batch_op.add_column(sa.Column("reminder_offsets", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("max_active_bookings", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column("waitlist_offer_minutes", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(
            sa.Column("retention_days", sa.Integer(), server_default="90", nullable=False)
        )
    op.execute("UPDATE offices SET reminder_offsets = '[1440, 60]'")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jobseeker_key", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("details_purged_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_bookings_jobseeker_key", ["jobseeker_key"], unique=False)
        batch_op.create_foreign_key(
            "fk_bookings_replaces_id_bookings", "bookings", ["replaces_id"], ["id"]
        )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'dropped', 'cancelled')",
            name=op.f("ck_reminders_status"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_reminders_booking_id_bookings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("booking_id", "offset_minutes", name=op.f("uq_reminders_booking_id")),
    )
    op.create_index("ix_reminders_status_due_at", "reminders", ["status", "due_at"], unique=False)
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("offered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'offered', 'done')", name=op.f("ck_waitlist_status")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_waitlist_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
    )
    op.create_index(
        "ix_waitlist_office_id_status", "waitlist", ["office_id", "status", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_waitlist_office_id_status", table_name="waitlist")
    op.drop_table("waitlist")
    op.drop_index("ix_reminders_status_due_at", table_name="reminders")
    op.drop_table("reminders")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bookings_replaces_id_bookings", type_="foreignkey")
        batch_op.drop_index("ix_bookings_jobseeker_key")
        batch_op.drop_column("details_purged_at")
        batch_op.drop_column("end_reason")
        batch_op.drop_column("replaces_id")
        batch_op.drop_column("jobseeker_key")
    with op.batch_alter_table("offices", schema=None) as batch_op:
        for column in (
            "retention_days",
            "waitlist_offer_minutes",
            "max_active_bookings",
            "reminder_offsets",
            "change_cutoff_minutes",
        ):
            batch_op.drop_column(column)
