"""Indexes shaped for the hot queries, so none of them scans years of bookings.

Each index leads with what its query matches exactly: a jobseeker's active bookings (by
pseudonym or jobseeker number, replacing the two single-column indexes), a conversation's
bookings ahead and the rows retention removes, the calendar rules of the days ahead. On
SQLite the statistics are gathered once here (the worker keeps them current).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NEW = (
    ("ix_bookings_pseudonym_status_starts_at", "bookings", ["pseudonym", "status", "starts_at"]),
    (
        "ix_bookings_jobseeker_key_status_starts_at",
        "bookings",
        ["jobseeker_key", "status", "starts_at"],
    ),
    ("ix_bookings_channel_user_ref_starts_at", "bookings", ["channel", "user_ref", "starts_at"]),
    ("ix_bookings_office_id_starts_at", "bookings", ["office_id", "starts_at"]),
    (
        "ix_bookings_office_id_details_purged_at_starts_at",
        "bookings",
        ["office_id", "details_purged_at", "starts_at"],
    ),
    ("ix_conversations_updated_at_office_id", "conversations", ["updated_at", "office_id"]),
    ("ix_outbox_created_at", "outbox", ["created_at"]),
    ("ix_processed_events_processed_at", "processed_events", ["processed_at"]),
    ("ix_waitlist_office_id_created_at", "waitlist", ["office_id", "created_at"]),
    ("ix_calendar_rules_office_id_day", "calendar_rules", ["office_id", "day"]),
)

_REPLACED = (
    ("ix_bookings_pseudonym", "bookings", ["pseudonym"]),
    ("ix_bookings_jobseeker_key", "bookings", ["jobseeker_key"]),
    ("ix_calendar_rules_office_id", "calendar_rules", ["office_id"]),
)


def upgrade() -> None:
    for name, table, columns in _NEW:
        op.create_index(name, table, columns, unique=False)
    for name, table, _ in _REPLACED:  # each is the leading column of a new index
        op.drop_index(name, table_name=table)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=1000")
        op.execute("ANALYZE")


def downgrade() -> None:
    for name, table, columns in _REPLACED:
        op.create_index(name, table, columns, unique=False)
    for name, table, _ in reversed(_NEW):
        op.drop_index(name, table_name=table)
