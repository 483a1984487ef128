"""Access audit in notifications (the kernel's append-only access_log): inbox reads, and reads of
another person's preferences (their e-mail address).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from shared.access_audit import create_access_log

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_access_log()


def downgrade() -> None:
    op.execute("DROP TABLE access_log")
    op.execute("DROP FUNCTION waypoint_append_only()")
