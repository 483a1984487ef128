"""Append-only event store: one contract, an in-memory and a PostgreSQL implementation."""

from shared.eventstore.base import ConcurrencyError, EventStore
from shared.eventstore.memory import InMemoryEventStore
from shared.eventstore.postgres import PostgresEventStore

__all__ = ["ConcurrencyError", "EventStore", "InMemoryEventStore", "PostgresEventStore"]
