"""Access audit in notifications (the kernel's append-only access_log): inbox reads, and reads of
another person's preferences (their e-mail address).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from shared.access_audit import create_access_log

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_access_log()


def downgrade() -> None:
    op.execute("DROP TABLE access_log")
    op.execute("DROP FUNCTION waypoint_append_only()")
