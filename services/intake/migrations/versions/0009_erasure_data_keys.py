"""Per-participant data keys (shared/keyring.py): intake's text about a participant is sealed under
the participant's key, wrapped by the master key; erasure leaves a tombstone in place of the key."""

from shared.migrations import data_keys_steps

revision = "0009_erasure_data_keys"
down_revision = "0008_security_retention"
upgrade, downgrade = data_keys_steps()
