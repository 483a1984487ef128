"""Minimum necessary, with break-the-glass (shared/minimum_necessary.py): the access log records
why a record was opened outside the caller's caseload (a flagged row), and the policy reads who is
on whose caseload from intake's own participants table, through a view that row-level security
still holds (``security_invoker``: the view reads as the service's role, not as its owner)."""

from alembic import op

from shared.access_audit import add_access_reasons
from shared.migrations import drop_access_reasons

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
    drop_access_reasons()
