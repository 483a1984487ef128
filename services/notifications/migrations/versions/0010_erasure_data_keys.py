"""Per-participant data keys (shared/keyring.py): notifications's text about a participant is sealed under
the participant's key, wrapped by the master key; erasure leaves a tombstone in place of the key.

Revision ID: 0010_erasure_data_keys
Revises: 0009_security_retention
"""

from alembic import op

from shared.keyring import create_data_keys

revision = "0010_erasure_data_keys"
down_revision = "0009_security_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_data_keys()


def downgrade() -> None:
    op.execute("DROP TABLE data_keys")
