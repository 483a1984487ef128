"""Access audit of every read of a participant's plan in planning (the kernel's access_log)."""

from alembic import op

from shared.access_audit import create_access_log

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    create_access_log()


def downgrade() -> None:
    op.execute("DROP TABLE access_log")
    op.execute("DROP FUNCTION waypoint_append_only()")
