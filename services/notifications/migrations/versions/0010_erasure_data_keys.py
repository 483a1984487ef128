"""Per-participant data keys (shared/keyring.py): notifications's text about a participant is sealed under
the participant's key, wrapped by the master key; erasure leaves a tombstone in place of the key."""

from shared.migrations import data_keys_steps

revision = "0010_erasure_data_keys"
down_revision = "0009_security_retention"
upgrade, downgrade = data_keys_steps()
