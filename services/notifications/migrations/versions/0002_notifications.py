"""Notifications' own tables: recipient directory, contact configuration, alerts, staff inbox and
the delivery queue.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

STATEMENTS = (
    # The recipient directory: folded from other services' events, one row per participant.
    """
    CREATE TABLE recipient_directory (
        participant_id      UUID PRIMARY KEY,
        agency_id           TEXT NOT NULL,
        specialist_id       TEXT,
        supervisor_id       TEXT,
        consecutive_misses  INTEGER NOT NULL DEFAULT 0,
        support_contacts    JSONB NOT NULL DEFAULT '[]'::jsonb,
        discharged          BOOLEAN NOT NULL DEFAULT false,
        updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    # Configuration owned here, never read from events: who supervises, and how people are reached.
    """
    CREATE TABLE agency_staff (
        agency_id        TEXT PRIMARY KEY,
        supervisor_id    TEXT,
        agency_admin_id  TEXT,
        updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE recipient_preferences (
        agency_id     TEXT NOT NULL,
        recipient_id  TEXT NOT NULL,
        email         TEXT,
        channels      TEXT[],
        quiet_hours   TEXT,
        time_zone     TEXT NOT NULL DEFAULT 'UTC',
        updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (agency_id, recipient_id)
    )
    """,
    """
    CREATE TABLE webhook_subscriptions (
        subscription_id  UUID PRIMARY KEY,
        agency_id        TEXT NOT NULL,
        url              TEXT NOT NULL,
        event_types      TEXT[] NOT NULL,
        secret           TEXT NOT NULL,
        description      TEXT,
        include_details  BOOLEAN NOT NULL DEFAULT false,
        active           BOOLEAN NOT NULL DEFAULT true,
        created_by       TEXT NOT NULL,
        created_at       TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX webhook_subscriptions_agency_idx ON webhook_subscriptions (agency_id) WHERE active",
    # Inline projection of the alert streams. The partial index holds only alerts that may fall
    # due, so the escalation sweep reads up to now and no further.
    """
    CREATE TABLE alerts (
        alert_id         UUID PRIMARY KEY,
        agency_id        TEXT NOT NULL,
        participant_id   UUID NOT NULL,
        recipient_id     TEXT NOT NULL,
        recipient_role   TEXT NOT NULL,
        addressed_to     TEXT[] NOT NULL,
        rule             TEXT NOT NULL,
        urgency          TEXT NOT NULL,
        cause_event_id   UUID NOT NULL,
        correlation_id   TEXT NOT NULL,
        raised_at        TIMESTAMPTZ NOT NULL,
        acknowledge_by   TIMESTAMPTZ,
        acknowledged_at  TIMESTAMPTZ,
        acknowledged_by  TEXT
    )
    """,
    "CREATE INDEX alerts_due_idx ON alerts (acknowledge_by)"
    " WHERE acknowledged_at IS NULL AND acknowledge_by IS NOT NULL",
    # The staff in-app inbox (GET /v1/notifications): one row per in-app notification.
    """
    CREATE TABLE staff_inbox (
        notification_id  UUID PRIMARY KEY,
        agency_id        TEXT NOT NULL,
        participant_id   UUID NOT NULL,
        recipient_id     TEXT NOT NULL,
        recipient_role   TEXT NOT NULL,
        rule             TEXT NOT NULL,
        urgency          TEXT NOT NULL,
        alert_id         UUID,
        cause_event_id   UUID NOT NULL,
        subject          TEXT NOT NULL,
        link             TEXT NOT NULL,
        created_at       TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX staff_inbox_recipient_idx ON staff_inbox (agency_id, recipient_id, created_at DESC)",
    # Email and webhook deliveries waiting for their next try. ``details`` holds only the coded,
    # allowlisted fields a message may carry, never the cause's whole payload.
    """
    CREATE TABLE deliveries (
        notification_id    UUID PRIMARY KEY,
        agency_id          TEXT NOT NULL,
        participant_id     UUID NOT NULL,
        recipient_id       TEXT NOT NULL,
        recipient_role     TEXT NOT NULL,
        channel            TEXT NOT NULL,
        rule               TEXT NOT NULL,
        urgency            TEXT NOT NULL,
        cause_event_id     UUID NOT NULL,
        cause_event_type   TEXT NOT NULL,
        cause_occurred_at  TIMESTAMPTZ NOT NULL,
        alert_id           UUID,
        details            JSONB NOT NULL DEFAULT '{}'::jsonb,
        correlation_id     TEXT NOT NULL,
        status             TEXT NOT NULL DEFAULT 'pending',
        attempts           INTEGER NOT NULL DEFAULT 0,
        due_at             TIMESTAMPTZ NOT NULL,
        last_error         TEXT,
        created_at         TIMESTAMPTZ NOT NULL,
        finished_at        TIMESTAMPTZ
    )
    """,
    "CREATE INDEX deliveries_due_idx ON deliveries (due_at) WHERE status = 'pending'",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
