"""Retention: the access log and the disclosure ledger kept at least six years, then removed by the retention purge
(``waypoint_retention_purge``, SECURITY DEFINER), the one DELETE the append-only guard lets through.
See shared/retention.py.

Revision ID: 0008_security_retention
Revises: 0007_security_disclosure
"""

from shared.retention import install, uninstall

revision = "0008_security_retention"
down_revision = "0007_security_disclosure"
branch_labels = None
depends_on = None

TABLES = {
    "access_log": ("id", "at"),
    "disclosures": ("disclosure_id", "disclosed_at"),
}
GUARD = "intake_append_only"


def upgrade() -> None:
    install(TABLES, GUARD)


def downgrade() -> None:
    uninstall(TABLES, GUARD)
