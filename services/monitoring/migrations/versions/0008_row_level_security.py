"""Row-level security: a transaction sees only its agency's rows (or all in the system scope);
FORCE holds the owner to it too. See shared/tenancy.py."""

from shared.tenancy import disable_agency_rls, enable_agency_rls

revision = "0008"
down_revision = "0007"

#: each table holding agency data with its agency columns (none named: ``agency_id``)
TABLES: dict[str, tuple[str, ...]] = dict.fromkeys((
    "events", "monitored_participants", "private_texts", "caseload", "open_alerts", "daily_counts", "timeline",
    "access_log"
), ())


def upgrade() -> None:
    enable_agency_rls(TABLES)


def downgrade() -> None:
    disable_agency_rls(TABLES)
