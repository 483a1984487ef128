"""Per-participant data keys (shared/keyring.py): monitoring's text about a participant is sealed under
the participant's key, wrapped by the master key; erasure leaves a tombstone in place of the key.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from shared.keyring import create_data_keys

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_data_keys()


def downgrade() -> None:
    op.execute("DROP TABLE data_keys")
