"""Consents revoked or expired and referrals withdrawn in intake, as notifications heard them: a
referral's webhook checks them again at send time (a disclosure waiting for a retry is not sent
once the participant took the consent back).
"""

from alembic import op

from shared.tenancy import disable_agency_rls, enable_agency_rls

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE withdrawn_consents (
            id          UUID PRIMARY KEY,           -- a consent_id or a referral_id
            kind        TEXT        NOT NULL,       -- consent | referral
            agency_id   TEXT        NOT NULL,
            withdrawn_at TIMESTAMPTZ NOT NULL
        )
        """
    )
    enable_agency_rls({"withdrawn_consents": ()})


def downgrade() -> None:
    disable_agency_rls({"withdrawn_consents": ()})
    op.execute("DROP TABLE withdrawn_consents")
