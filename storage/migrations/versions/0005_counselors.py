"""Counselor actions: claims, no-shows, the Slack message of a booking, suspensions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("counselor_channel", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("counselor_message_ts", sa.String(length=32), nullable=True))
        batch_op.drop_constraint(op.f("ck_bookings_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_bookings_status"),
            "status IN ('held', 'booked', 'released', 'cancelled', 'no_show')",
        )
    op.create_table(
        "suspensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("jobseeker_key", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("counselor", sa.String(length=64), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_suspensions_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_suspensions_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspensions")),
    )
    op.create_index("ix_suspensions_pseudonym", "suspensions", ["pseudonym"], unique=False)
    op.create_index("ix_suspensions_jobseeker_key", "suspensions", ["jobseeker_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_suspensions_jobseeker_key", table_name="suspensions")
    op.drop_index("ix_suspensions_pseudonym", table_name="suspensions")
    op.drop_table("suspensions")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_bookings_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_bookings_status"), "status IN ('held', 'booked', 'released', 'cancelled')"
        )
        batch_op.drop_column("counselor_message_ts")
        batch_op.drop_column("counselor_channel")
        batch_op.drop_column("claimed_by")
