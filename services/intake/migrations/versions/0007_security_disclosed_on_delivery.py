"""The disclosure ledger records a referral when the receiving agency is first shown it, not when
it is requested: the referral row keeps who requested it until then.
"""

from alembic import op

revision = "0007_security_disclosure"
down_revision = "0006"


def upgrade() -> None:
    op.execute("ALTER TABLE referrals ADD COLUMN requested_by TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE referrals DROP COLUMN requested_by")
