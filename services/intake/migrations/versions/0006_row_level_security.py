"""Row-level security: a transaction sees only its agency's rows (or all in the system scope);
FORCE holds the owner to it too. See shared/tenancy.py."""

from shared.tenancy import disable_agency_rls, enable_agency_rls

revision = "0006"
down_revision = "0005"

#: each table holding agency data with its agency columns (none named: ``agency_id``)
TABLES: dict[str, tuple[str, ...]] = dict.fromkeys(
    ("events", "participants", "support_contacts", "assessments", "consents"), ()
) | {
    "disclosures": ("agency_id", "recipient_agency_id"),  # the recipient sees its own "received" lines
    "referrals": ("disclosing_agency_id", "recipient_agency_id"),  # both ends of a referral
    "access_log": (),
}


def upgrade() -> None:
    enable_agency_rls(TABLES)


def downgrade() -> None:
    disable_agency_rls(TABLES)
