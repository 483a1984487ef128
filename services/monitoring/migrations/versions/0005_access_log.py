"""Access audit of every read of participant data in monitoring (the kernel's access_log)."""

from alembic import op

from shared.access_audit import create_access_log

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    create_access_log()
    # The private texts of one participant, newest first, by kind.
    op.execute("CREATE INDEX private_texts_kind_idx ON private_texts (participant_id, kind, id)")


def downgrade() -> None:
    op.execute("DROP INDEX private_texts_kind_idx")
    op.execute("DROP TABLE access_log")
    op.execute("DROP FUNCTION waypoint_append_only()")
