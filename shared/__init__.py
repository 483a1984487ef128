"""Waypoint's shared kernel: the published language and the mechanisms every service uses.

Nothing service-specific lives here: event envelope and catalogue, event store, outbox, inbox,
Kafka wiring, auth, observability and test helpers.
"""
