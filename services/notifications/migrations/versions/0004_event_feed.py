"""The HTTP event feed's store: every published event once, in the order the feed serves it.
(The feed's reads are audited in ``access_log``, created by ``0006``.)
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE event_feed (
            position        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id        UUID        NOT NULL UNIQUE,
            agency_id       TEXT        NOT NULL,
            ce_type         TEXT        NOT NULL,
            participant_id  UUID,
            cloudevent      JSONB       NOT NULL,
            received_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute("CREATE INDEX event_feed_agency_position_idx ON event_feed (agency_id, position)")
    op.execute("CREATE INDEX event_feed_agency_type_position_idx ON event_feed (agency_id, ce_type, position)")


def downgrade() -> None:
    op.execute("DROP TABLE event_feed")
