"""Milestones fall due at the start of their date where the participant lives, not at UTC midnight.

``milestone_on`` (a date, read as a UTC date) becomes ``milestone_due_at``: the instant the
milestone's local date begins. Existing rows are backfilled from ``milestone_on`` at UTC midnight,
which is what they meant so far (every participant monitored before this revision counts in UTC:
their ``MonitoringStarted`` carries no time zone). The sweep claims rows by this column with the
same partial index as before, so its cost still grows with the rows due, not with the schedules.
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE monitored_participants ADD COLUMN milestone_due_at TIMESTAMPTZ")
    op.execute(
        "UPDATE monitored_participants SET milestone_due_at = milestone_on::timestamp AT TIME ZONE 'UTC'"
        " WHERE milestone_on IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX monitored_milestone_due_at_idx ON monitored_participants (milestone_due_at)"
        " WHERE milestone_due_at IS NOT NULL"
    )
    op.execute("DROP INDEX monitored_milestone_on_idx")
    op.execute("ALTER TABLE monitored_participants DROP COLUMN milestone_on")


def downgrade() -> None:
    # Back to a date: the participant's local date is lost, the UTC date of the due instant is kept.
    op.execute("ALTER TABLE monitored_participants ADD COLUMN milestone_on DATE")
    op.execute(
        "UPDATE monitored_participants SET milestone_on = (milestone_due_at AT TIME ZONE 'UTC')::date"
        " WHERE milestone_due_at IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX monitored_milestone_on_idx ON monitored_participants (milestone_on)"
        " WHERE milestone_on IS NOT NULL"
    )
    op.execute("DROP INDEX monitored_milestone_due_at_idx")
    op.execute("ALTER TABLE monitored_participants DROP COLUMN milestone_due_at")
