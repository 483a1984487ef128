"""Kernel tables (event store, outbox, inbox, checkpoints)."""

from shared.migrations import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables()
