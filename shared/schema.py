"""DDL of the kernel's tables, applied by each service's first Alembic migration.

Every service database holds the same four kernel tables: ``events`` (the event store),
``outbox`` (events waiting for Kafka), ``inbox`` (events already handled per consumer) and
``projection_checkpoints`` (how far each rebuildable read model has read).
"""

KERNEL_DDL: tuple[str, ...] = (
    # The primary key on (stream_id, stream_version) is what makes concurrent appends safe: two
    # writers that both read version N both try to insert N+1 and exactly one insert succeeds.
    # global_position gives a total order for rebuilding projections; it is allocated at insert
    # time, so readers that need gap-free order must not assume commit order equals this order.
    """
    CREATE TABLE events (
        global_position BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        stream_id       TEXT        NOT NULL,
        stream_type     TEXT        NOT NULL,
        stream_version  INTEGER     NOT NULL CHECK (stream_version > 0),
        event_id        UUID        NOT NULL UNIQUE,
        event_type      TEXT        NOT NULL,
        schema_version  INTEGER     NOT NULL,
        agency_id       TEXT        NOT NULL,
        participant_id  UUID,
        occurred_at     TIMESTAMPTZ NOT NULL,
        recorded_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        data            JSONB       NOT NULL,
        metadata        JSONB       NOT NULL,
        PRIMARY KEY (stream_id, stream_version)
    )
    """,
    "CREATE INDEX events_participant_idx ON events (participant_id, global_position)",
    # Rows are deleted once Kafka acknowledged them, so the table stays small; the event store
    # keeps the history. The serialized record is stored ready to send so the relay does no work.
    """
    CREATE TABLE outbox (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id    UUID        NOT NULL,
        topic       TEXT        NOT NULL,
        record_key  TEXT,
        value       BYTEA       NOT NULL,
        headers     JSONB       NOT NULL,
        created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
    )
    """,
    """
    CREATE TABLE inbox (
        consumer     TEXT        NOT NULL,
        event_id     UUID        NOT NULL,
        handled_at   TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (consumer, event_id)
    )
    """,
    """
    CREATE TABLE projection_checkpoints (
        projection  TEXT   PRIMARY KEY,
        position    BIGINT NOT NULL
    )
    """,
)

#: Kernel tables added later (a second kernel migration in every service): what was set aside.
KERNEL_FAULT_DDL: tuple[str, ...] = (
    # A record a consumer sent to its dead-letter topic, written once Kafka acknowledged it: a
    # redelivery of the same record (same topic, partition, offset) finds it and sends nothing
    # twice. Keyed by position, not by ce_id: a good copy of the same event elsewhere in the log is
    # still handled, and a redrive (the record published again) is a new record.
    """
    CREATE TABLE IF NOT EXISTS dead_letters (
        consumer     TEXT        NOT NULL,
        topic        TEXT        NOT NULL,
        "partition"  INTEGER     NOT NULL,
        "offset"     BIGINT      NOT NULL,
        event_id     UUID,
        dlq_topic    TEXT        NOT NULL,
        reason       TEXT        NOT NULL,
        dead_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (consumer, topic, "partition", "offset")
    )
    """,
    # Outbox rows Kafka refused for good (too large, invalid): moved here with the reason, so the
    # relay keeps shipping the rows behind them. An operator fixes and re-enqueues, or drops them.
    """
    CREATE TABLE IF NOT EXISTS outbox_quarantine (
        id              BIGINT      PRIMARY KEY,
        event_id        UUID        NOT NULL,
        topic           TEXT        NOT NULL,
        record_key      TEXT,
        value           BYTEA       NOT NULL,
        headers         JSONB       NOT NULL,
        created_at      TIMESTAMPTZ NOT NULL,
        reason          TEXT        NOT NULL,
        quarantined_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
    )
    """,
    # Rows a polling loop could not handle (an unreadable stream, a fold error): the loop's claim
    # skips them until an operator deletes the row here (after fixing the cause).
    """
    CREATE TABLE IF NOT EXISTS set_aside (
        loop          TEXT        NOT NULL,
        row_key       TEXT        NOT NULL,
        reason        TEXT        NOT NULL,
        set_aside_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (loop, row_key)
    )
    """,
    # Idempotency-Key (IETF httpapi draft): the first response to a creating POST, replayed to a
    # retry with the same key and body. ``scope`` is the agency and the caller.
    """
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        scope          TEXT        NOT NULL,
        key            TEXT        NOT NULL,
        request_hash   TEXT        NOT NULL,
        status         INTEGER     NOT NULL,
        body           BYTEA       NOT NULL,
        content_type   TEXT,
        location       TEXT,
        created_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (scope, key)
    )
    """,
)
