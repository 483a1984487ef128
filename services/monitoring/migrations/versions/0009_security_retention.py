"""Retention: the access log kept at least six years, then removed by the retention purge
(``waypoint_retention_purge``, SECURITY DEFINER), the one DELETE the append-only guard lets through.
See shared/retention.py.

Revision ID: 0009_security_retention
Revises: 0008
"""

from shared.retention import install, uninstall

revision = "0009_security_retention"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = {"access_log": ("id", "at")}
GUARD = "waypoint_append_only"


def upgrade() -> None:
    install(TABLES, GUARD)


def downgrade() -> None:
    uninstall(TABLES, GUARD)
