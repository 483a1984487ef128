"""Kernel tables, the recipient directory and the in-app inbox.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.migrations import create_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()
    op.execute(
        """
        CREATE TABLE care_team (
            participant_id  UUID PRIMARY KEY,
            agency_id       TEXT NOT NULL,
            specialist_id   TEXT
        )
        """
    )
    op.execute(
        """
        CREATE TABLE notifications (
            notification_id UUID PRIMARY KEY,
            agency_id       TEXT NOT NULL,
            participant_id  UUID,
            recipient_id    TEXT NOT NULL,
            recipient_role  TEXT NOT NULL,
            channel         TEXT NOT NULL,
            rule            TEXT NOT NULL,
            urgent          BOOLEAN NOT NULL DEFAULT false,
            subject         TEXT NOT NULL,
            body            TEXT NOT NULL,
            cause_event_id  UUID NOT NULL,
            created_at      TIMESTAMPTZ NOT NULL,
            acknowledged_at TIMESTAMPTZ,
            UNIQUE (cause_event_id, rule, recipient_id)
        )
        """
    )
    op.execute("CREATE INDEX notifications_recipient_idx ON notifications (agency_id, recipient_id, created_at)")
