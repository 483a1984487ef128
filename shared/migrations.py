"""Helpers for service migrations."""

from alembic import op

from shared.schema import KERNEL_DDL


def create_kernel_tables() -> None:
    """Create the event store, outbox, inbox and checkpoint tables (first migration of a service)."""
    for statement in KERNEL_DDL:
        op.execute(statement)
