"""Snapshots of participant-monitor state (a cache: the events stay the truth)."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE monitor_snapshots (
            participant_id  UUID PRIMARY KEY,
            version         INTEGER NOT NULL,
            state           JSONB   NOT NULL
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE monitor_snapshots")
