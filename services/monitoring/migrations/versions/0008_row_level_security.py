"""Row-level security: each table holding participant or agency data shows a transaction only the
rows of the agency it declared (or all of them in the system scope); FORCE holds the owner to it.
See shared/tenancy.py.
"""

from shared.tenancy import disable_agency_rls, enable_agency_rls

revision = "0008"
down_revision = "0007"

TABLES: dict[str, tuple[str, ...]] = {
    "events": (),
    "monitored_participants": (),
    "private_texts": (),
    "caseload": (),
    "open_alerts": (),
    "daily_counts": (),
    "timeline": (),
    "access_log": (),
}


def upgrade() -> None:
    enable_agency_rls(TABLES)


def downgrade() -> None:
    disable_agency_rls(TABLES)
