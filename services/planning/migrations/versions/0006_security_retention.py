"""Retention: the access log kept at least six years, then removed by the retention purge
(``waypoint_retention_purge``, SECURITY DEFINER), the one DELETE the append-only guard lets through.
See shared/retention.py.

Revision ID: 0006_security_retention
Revises: 0005
"""

from shared.retention import install, uninstall

revision = "0006_security_retention"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = {"access_log": ("id", "at")}
GUARD = "waypoint_append_only"


def upgrade() -> None:
    install(TABLES, GUARD)


def downgrade() -> None:
    uninstall(TABLES, GUARD)
