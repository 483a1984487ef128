"""Intake's command handlers: load the aggregate, decide, append (event store + outbox) and write
the records that hold what events must not carry, all in one unit of work."""
