"""Minimum necessary, with break-the-glass (shared/minimum_necessary.py): the access log records
why a record was opened outside the caller's caseload (a flagged row), and the service keeps a
projection of intake's assignments (who is on whose caseload), with row-level security.

Revision ID: 0008_glass
Revises: 0007_erasure_data_keys
"""

from alembic import op

from shared.access_audit import add_access_reasons
from shared.minimum_necessary import create_assignments

revision = "0008_glass"
down_revision = "0007_erasure_data_keys"


def upgrade() -> None:
    add_access_reasons()
    create_assignments()


def downgrade() -> None:
    op.execute("DROP TABLE caseload_assignments")
    op.execute("DROP INDEX access_log_flagged_idx")
    for column in ("reason", "reason_kind", "flagged"):
        op.execute(f"ALTER TABLE access_log DROP COLUMN {column}")
