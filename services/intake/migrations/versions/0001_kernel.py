"""Kernel tables (intake's own tables follow in 0002).

Revision ID: 0001
Revises:
"""

from shared.migrations import create_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables()
