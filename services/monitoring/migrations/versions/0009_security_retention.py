"""Retention: the access log kept at least six years, then removed by the retention purge
(``waypoint_retention_purge``, SECURITY DEFINER), the one DELETE the append-only guard lets through.
See shared/retention.py."""

from shared.migrations import retention_steps

revision = "0009_security_retention"
down_revision = "0008"
upgrade, downgrade = retention_steps({"access_log": ("id", "at")}, "waypoint_append_only")
