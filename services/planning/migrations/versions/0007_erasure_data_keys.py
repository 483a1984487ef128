"""Per-participant data keys (shared/keyring.py): planning's text about a participant is sealed under
the participant's key, wrapped by the master key; erasure leaves a tombstone in place of the key."""

from shared.migrations import data_keys_steps

revision = "0007_erasure_data_keys"
down_revision = "0006_security_retention"
upgrade, downgrade = data_keys_steps()
