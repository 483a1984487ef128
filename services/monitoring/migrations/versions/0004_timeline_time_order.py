"""The timeline is read in the order events occurred: index it that way."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("CREATE INDEX timeline_participant_time_idx ON timeline (participant_id, occurred_at, seq)")


def downgrade() -> None:
    op.execute("DROP INDEX timeline_participant_time_idx")
