"""Kernel tables for what is set aside (dead letters, quarantine, set-aside rows, Idempotency-Key)."""

from shared.migrations import create_kernel_fault_tables, drop_kernel_fault_tables

revision = "0007"
down_revision = "0006"
upgrade, downgrade = create_kernel_fault_tables, drop_kernel_fault_tables
