"""Intake's own records: participants, support contacts, assessments, consents, the disclosure
ledger and the access log.

Direct identifiers (names, contact details, signatures, free text) live only in these tables,
never in events. Every row carries its agency; every query filters on it.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

STATEMENTS = (
    """
    CREATE TABLE participants (
        participant_id      UUID PRIMARY KEY,
        agency_id           TEXT        NOT NULL,
        specialist_id       TEXT,
        status              TEXT        NOT NULL,
        display_name        TEXT,
        contact             JSONB,
        recovery_start_date DATE,
        primary_substances  JSONB       NOT NULL DEFAULT '[]'::jsonb,
        preferred_channel   TEXT,
        preferred_hours     JSONB,
        risk_level          TEXT,
        risk_reasons        JSONB       NOT NULL DEFAULT '[]'::jsonb,
        enrolled_at         TIMESTAMPTZ NOT NULL,
        waiting_since       TIMESTAMPTZ,
        discharged_at       TIMESTAMPTZ,
        discharge_reason    TEXT
    )
    """,
    "CREATE INDEX participants_agency_idx ON participants (agency_id, specialist_id)",
    "CREATE INDEX participants_queue_idx ON participants (agency_id, waiting_since) WHERE waiting_since IS NOT NULL",
    """
    CREATE TABLE support_contacts (
        participant_id      UUID    NOT NULL REFERENCES participants,
        support_contact_id  UUID    NOT NULL,
        agency_id           TEXT    NOT NULL,
        name                TEXT    NOT NULL,
        relation            TEXT    NOT NULL,
        channel             TEXT    NOT NULL,
        phone               TEXT,
        email               TEXT,
        consent_to_contact  BOOLEAN NOT NULL,
        PRIMARY KEY (participant_id, support_contact_id)
    )
    """,
    """
    CREATE TABLE assessments (
        assessment_id   UUID PRIMARY KEY,
        participant_id  UUID        NOT NULL REFERENCES participants,
        agency_id       TEXT        NOT NULL,
        completed_at    TIMESTAMPTZ NOT NULL,
        recorded_by     TEXT,
        instruments     JSONB       NOT NULL,
        answers         JSONB       NOT NULL,
        scores          JSONB       NOT NULL,
        risk_level      TEXT        NOT NULL,
        risk_reasons    JSONB       NOT NULL
    )
    """,
    "CREATE INDEX assessments_participant_idx ON assessments (participant_id, completed_at)",
    """
    CREATE TABLE consents (
        consent_id      UUID PRIMARY KEY,
        participant_id  UUID        NOT NULL REFERENCES participants,
        agency_id       TEXT        NOT NULL,
        status          TEXT        NOT NULL,
        version         INTEGER     NOT NULL,
        terms           JSONB       NOT NULL,
        signature       JSONB,
        expires_on      DATE,
        expiry_event    TEXT,
        created_at      TIMESTAMPTZ NOT NULL,
        updated_at      TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX consents_participant_idx ON consents (participant_id)",
    "CREATE INDEX consents_expiry_idx ON consents (expires_on) WHERE status = 'active'",
    # Part 2 asks who received a person's records for the last 3 and 6 years: the ledger is
    # append-only, enforced by the database itself, not by application discipline.
    """
    CREATE TABLE disclosures (
        disclosure_id        UUID PRIMARY KEY,
        participant_id       UUID        NOT NULL REFERENCES participants,
        agency_id            TEXT        NOT NULL,
        disclosed_at         TIMESTAMPTZ NOT NULL,
        recipient_agency_id  TEXT        NOT NULL,
        purpose              TEXT        NOT NULL,
        information          JSONB       NOT NULL,
        consent_id           UUID        NOT NULL REFERENCES consents,
        consent_version      INTEGER     NOT NULL,
        note                 TEXT,
        requested_by         TEXT
    )
    """,
    "CREATE INDEX disclosures_participant_idx ON disclosures (participant_id, disclosed_at)",
    """
    CREATE FUNCTION intake_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END
    $$
    """,
    """
    CREATE TRIGGER disclosures_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON disclosures
    FOR EACH STATEMENT EXECUTE FUNCTION intake_append_only()
    """,
    """
    CREATE TABLE access_log (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        participant_id  UUID,
        agency_id       TEXT        NOT NULL,
        actor           TEXT        NOT NULL,
        action          TEXT        NOT NULL,
        at              TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
    )
    """,
    "CREATE INDEX access_log_participant_idx ON access_log (participant_id, at)",
    """
    CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION intake_append_only()
    """,
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
