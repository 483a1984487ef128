"""Kernel tables and the participant timeline read model."""

from alembic import op

from shared.migrations import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables()
    # One row per event of any service about a participant. ``seq`` orders the timeline; the
    # per-participant order of Kafka (record key = participant id) makes it that person's order.
    op.execute(
        """
        CREATE TABLE timeline (
            seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            participant_id  UUID NOT NULL,
            agency_id       TEXT NOT NULL,
            event_id        UUID NOT NULL UNIQUE,
            event_type      TEXT NOT NULL,
            source          TEXT NOT NULL,
            occurred_at     TIMESTAMPTZ NOT NULL,
            summary         TEXT NOT NULL,
            data            JSONB NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX timeline_participant_idx ON timeline (participant_id, seq)")
