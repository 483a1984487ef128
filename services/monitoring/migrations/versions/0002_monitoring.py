"""Monitoring's tables: participants, due-time tables for the schedulers, private texts and the
caseload and overview read models.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

STATEMENTS = (
    # Inline projection of the participant-monitor streams, written in the command's transaction,
    # and the due-time table of both schedulers. Every writer of a stream locks its row first:
    # commands wait for it, the schedulers claim rows with SKIP LOCKED and never wait, so several
    # replicas can sweep side by side and a command and a sweep never decide on the same state.
    # The partial indexes hold only what may fall due: a sweep reads the index range up to now,
    # so its cost grows with the rows due, not with the number of schedules.
    """
    CREATE TABLE monitored_participants (
        participant_id     UUID PRIMARY KEY,
        agency_id          TEXT        NOT NULL,
        active             BOOLEAN     NOT NULL,
        check_in_deadline  TIMESTAMPTZ,
        milestone_on       DATE
    )
    """,
    "CREATE INDEX monitored_check_in_deadline_idx ON monitored_participants (check_in_deadline)"
    " WHERE check_in_deadline IS NOT NULL",
    "CREATE INDEX monitored_milestone_on_idx ON monitored_participants (milestone_on) WHERE milestone_on IS NOT NULL",
    # Free text that never leaves monitoring: check-in notes, new warning signs and coping
    # strategies in the participant's words, SOS messages, relapse and contact notes.
    """
    CREATE TABLE private_texts (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        participant_id  UUID        NOT NULL,
        agency_id       TEXT        NOT NULL,
        kind            TEXT        NOT NULL,
        ref_id          UUID        NOT NULL,
        body            TEXT        NOT NULL,
        written_by      TEXT,
        written_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
    )
    """,
    "CREATE INDEX private_texts_participant_idx ON private_texts (participant_id, written_at)",
    # Read models fed by the all-topics consumer (rebuildable from the events).
    """
    CREATE TABLE caseload (
        participant_id      UUID PRIMARY KEY,
        agency_id           TEXT        NOT NULL,
        specialist_id       TEXT,
        risk_level          TEXT        NOT NULL DEFAULT 'moderate',
        assessed            BOOLEAN     NOT NULL DEFAULT false,
        consecutive_misses  INTEGER     NOT NULL DEFAULT 0,
        last_check_in_at    TIMESTAMPTZ,
        last_craving        INTEGER,
        next_due_at         TIMESTAMPTZ,
        monitored_since     TIMESTAMPTZ,
        open_alerts         INTEGER     NOT NULL DEFAULT 0,
        discharged          BOOLEAN     NOT NULL DEFAULT false,
        updated_at          TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
    )
    """,
    "CREATE INDEX caseload_specialist_idx ON caseload (agency_id, specialist_id) WHERE NOT discharged",
    """
    CREATE TABLE open_alerts (
        alert_id        UUID PRIMARY KEY,
        participant_id  UUID NOT NULL,
        agency_id       TEXT NOT NULL
    )
    """,
    # Counts per agency, day and kind (check_in, missed, milestone, help, relapse, escalation).
    """
    CREATE TABLE daily_counts (
        agency_id  TEXT    NOT NULL,
        day        DATE    NOT NULL,
        kind       TEXT    NOT NULL,
        count      INTEGER NOT NULL,
        PRIMARY KEY (agency_id, day, kind)
    )
    """,
    # When a timeline row was written, to measure accept-to-timeline latency.
    "ALTER TABLE timeline ADD COLUMN projected_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE timeline DROP COLUMN projected_at")
    for table in (
        "daily_counts", "open_alerts", "caseload", "private_texts", "monitored_participants",
    ):
        op.execute(f"DROP TABLE {table}")
