"""Helpers for service migrations."""

from alembic import op

from shared.schema import KERNEL_DDL, KERNEL_FAULT_DDL


def create_kernel_tables() -> None:
    """Create the event store, outbox, inbox and checkpoint tables (first migration of a service)."""
    for statement in KERNEL_DDL:
        op.execute(statement)


def create_kernel_fault_tables() -> None:
    """Create the dead-letter, outbox quarantine, set-aside and idempotency-key tables."""
    for statement in KERNEL_FAULT_DDL:
        op.execute(statement)


def drop_kernel_fault_tables() -> None:
    for table in ("idempotency_keys", "set_aside", "outbox_quarantine", "dead_letters"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
