"""The participant's time zone and preferred contact hours in the recipient directory (from
``ParticipantEnrolled``): outside those hours, in that zone, are the participant's default quiet
hours.
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE recipient_directory ADD COLUMN time_zone TEXT,"
        " ADD COLUMN preferred_hours_start TIME, ADD COLUMN preferred_hours_end TIME,"
        " ADD CONSTRAINT recipient_directory_preferred_hours_whole"
        " CHECK ((preferred_hours_start IS NULL) = (preferred_hours_end IS NULL))"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE recipient_directory DROP CONSTRAINT recipient_directory_preferred_hours_whole,"
        " DROP COLUMN preferred_hours_end, DROP COLUMN preferred_hours_start, DROP COLUMN time_zone"
    )
