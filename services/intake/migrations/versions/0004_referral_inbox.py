"""The referral inbox: one row per referral, read by the referring agency (outcome) and the
receiving agency (its inbox: only the consented categories, as disclosed); the disclosure ledger
records the receiving side too, and an enrolment remembers the referral it accepted.
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE referrals (
            referral_id             UUID PRIMARY KEY,
            participant_id          UUID        NOT NULL REFERENCES participants,
            disclosing_agency_id    TEXT        NOT NULL,
            recipient_agency_id     TEXT        NOT NULL,
            consent_id              UUID        NOT NULL REFERENCES consents,
            consent_version         INTEGER     NOT NULL,
            purpose                 TEXT        NOT NULL,
            information             JSONB       NOT NULL,
            redisclosure_notice     TEXT        NOT NULL,
            note                    TEXT,
            disclosed               JSONB       NOT NULL,
            requested_at            TIMESTAMPTZ NOT NULL,
            status                  TEXT        NOT NULL DEFAULT 'pending',
            decided_at              TIMESTAMPTZ,
            decided_by              TEXT,
            decline_reason          TEXT,
            decline_note            TEXT,
            withdrawal_reason       TEXT,
            enrolled_participant_id UUID REFERENCES participants
        )
        """
    )
    op.execute("CREATE INDEX referrals_inbox_idx ON referrals (recipient_agency_id, status, requested_at)")
    op.execute("CREATE INDEX referrals_consent_idx ON referrals (consent_id) WHERE status = 'pending'")
    op.execute("ALTER TABLE disclosures ADD COLUMN direction TEXT NOT NULL DEFAULT 'sent',"
               " ADD COLUMN source_agency_id TEXT, ADD COLUMN referral_id UUID")
    op.execute("ALTER TABLE participants ADD COLUMN referral_id UUID, ADD COLUMN referral_consent_id UUID")


def downgrade() -> None:
    op.execute("ALTER TABLE participants DROP COLUMN referral_consent_id, DROP COLUMN referral_id")
    op.execute("ALTER TABLE disclosures DROP COLUMN referral_id, DROP COLUMN source_agency_id, DROP COLUMN direction")
    op.execute("DROP TABLE referrals")
