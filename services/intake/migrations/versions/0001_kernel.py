"""Kernel tables and intake's participant directory.

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
    # Direct identifiers live here, never in events.
    op.execute(
        """
        CREATE TABLE participants (
            participant_id      UUID PRIMARY KEY,
            agency_id           TEXT NOT NULL,
            specialist_id       TEXT,
            status              TEXT NOT NULL,
            display_name        TEXT,
            contact             JSONB NOT NULL DEFAULT '{}'::jsonb,
            risk_level          TEXT,
            enrolled_at         TIMESTAMPTZ NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX participants_agency_idx ON participants (agency_id, specialist_id)")
    op.execute(
        """
        CREATE TABLE assessments (
            assessment_id   UUID PRIMARY KEY,
            participant_id  UUID NOT NULL REFERENCES participants,
            agency_id       TEXT NOT NULL,
            completed_at    TIMESTAMPTZ NOT NULL,
            answers         JSONB NOT NULL,
            scores          JSONB NOT NULL,
            risk_level      TEXT NOT NULL,
            risk_factors    JSONB NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX assessments_participant_idx ON assessments (participant_id, completed_at)")
