"""Minimum necessary, with break-the-glass (shared/minimum_necessary.py): the access log records
why a record was opened outside the caller's caseload (a flagged row), and the policy reads who is
on whose caseload from intake's own participants table, through a view that row-level security
still holds (``security_invoker``: the view reads as the service's role, not as its owner).

Revision ID: 0010_glass
Revises: 0009_erasure_data_keys
"""

from alembic import op

from shared.access_audit import add_access_reasons

revision = "0010_glass"
down_revision = "0009_erasure_data_keys"


def upgrade() -> None:
    add_access_reasons()
    op.execute(
        "CREATE VIEW caseload_assignments WITH (security_invoker = true) AS"
        " SELECT participant_id, agency_id, specialist_id, enrolled_at AS as_of FROM participants"
    )


def downgrade() -> None:
    op.execute("DROP VIEW caseload_assignments")
    op.execute("DROP INDEX access_log_flagged_idx")
    for column in ("reason", "reason_kind", "flagged"):
        op.execute(f"ALTER TABLE access_log DROP COLUMN {column}")
