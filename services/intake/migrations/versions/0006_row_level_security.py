"""Row-level security: each table holding participant or agency data shows a transaction only the
rows of the agency it declared (or all of them in the system scope); FORCE holds the owner to it.
See shared/tenancy.py.
"""

from shared.tenancy import disable_agency_rls, enable_agency_rls

revision = "0006"
down_revision = "0005"

TABLES: dict[str, tuple[str, ...]] = {
    "events": (),
    "participants": (),
    "support_contacts": (),
    "assessments": (),
    "consents": (),
    "disclosures": ("agency_id", "recipient_agency_id"),  # the recipient sees its own "received" lines
    "referrals": ("disclosing_agency_id", "recipient_agency_id"),  # both ends of a referral
    "access_log": (),
}


def upgrade() -> None:
    enable_agency_rls(TABLES)


def downgrade() -> None:
    disable_agency_rls(TABLES)
