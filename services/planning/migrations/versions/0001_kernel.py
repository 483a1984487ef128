"""Kernel tables and the current-plan read model."""

from alembic import op

from shared.migrations import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables()
    op.execute(
        """
        CREATE TABLE plans (
            participant_id  UUID PRIMARY KEY,
            agency_id       TEXT NOT NULL,
            plan_id         UUID NOT NULL,
            version         INTEGER NOT NULL,
            status          TEXT NOT NULL,
            content         JSONB NOT NULL,
            updated_at      TIMESTAMPTZ NOT NULL
        )
        """
    )
