"""The participant's time zone (IANA name), given at enrolment."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("ALTER TABLE participants ADD COLUMN time_zone TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE participants DROP COLUMN time_zone")
