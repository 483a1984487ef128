"""Retention: the access log and the disclosure ledger kept at least six years, then removed by the retention purge
(``waypoint_retention_purge``, SECURITY DEFINER), the one DELETE the append-only guard lets through.
See shared/retention.py."""

from shared.migrations import retention_steps

revision = "0008_security_retention"
down_revision = "0007_security_disclosure"
upgrade, downgrade = retention_steps({
    "access_log": ("id", "at"),
    "disclosures": ("disclosure_id", "disclosed_at"),
}, "intake_append_only")
