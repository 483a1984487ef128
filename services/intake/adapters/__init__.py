"""Intake's adapters: the SQL of its own records (identifiers stay here, never in events)."""
