"""Kernel tables for what is set aside: dead letters, outbox quarantine, set-aside rows of the
polling loops, Idempotency-Key responses.

Revision ID: 0005
Revises: 0004
"""

from shared.migrations import create_kernel_fault_tables, drop_kernel_fault_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_fault_tables()


def downgrade() -> None:
    drop_kernel_fault_tables()
