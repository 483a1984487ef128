"""Kernel tables for what is set aside (dead letters, quarantine, set-aside rows, Idempotency-Key)."""

from shared.migrations import create_kernel_fault_tables, drop_kernel_fault_tables

revision = "0005"
down_revision = "0004"
upgrade, downgrade = create_kernel_fault_tables, drop_kernel_fault_tables
