"""Access audit in notifications (the kernel's append-only access_log): inbox reads, and reads of
another person's preferences (their e-mail address).
"""

import sqlalchemy as sa
from alembic import op

from shared.access_audit import create_access_log

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    # 0004 (the event feed) may have created it already, for the feed's reads
    if "access_log" not in sa.inspect(op.get_bind()).get_table_names():
        create_access_log()


def downgrade() -> None:
    pass  # the table stays with 0004's downgrade, which drops it
