"""Planning's read models: open reviews and risk on the current plan, and enrolled participants.

The full content of every plan version lives in the event store as private ``PlanVersionRecorded``
rows (never published); ``plans`` only mirrors the current version for fast reads.
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("ALTER TABLE plans ADD COLUMN open_reviews JSONB NOT NULL DEFAULT '[]'::jsonb")
    op.execute("ALTER TABLE plans ADD COLUMN risk_level TEXT")
    op.execute("CREATE INDEX plans_agency_idx ON plans (agency_id)")
    op.execute(
        """
        CREATE TABLE planning_participants (
            participant_id  UUID PRIMARY KEY,
            agency_id       TEXT NOT NULL,
            enrolled_at     TIMESTAMPTZ NOT NULL,
            discharged_at   TIMESTAMPTZ
        )
        """
    )
    # Version lookups (?version=N, ?as_of=, history) read only the private version records.
    op.execute(
        "CREATE INDEX events_plan_versions_idx ON events (stream_id, occurred_at) "
        "WHERE event_type = 'PlanVersionRecorded'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX events_plan_versions_idx")
    op.execute("DROP TABLE planning_participants")
    op.execute("DROP INDEX plans_agency_idx")
    op.execute("ALTER TABLE plans DROP COLUMN risk_level")
    op.execute("ALTER TABLE plans DROP COLUMN open_reviews")
