"""Kernel tables (intake's own tables follow in 0002)."""

from shared.migrations import create_kernel_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_kernel_tables()
