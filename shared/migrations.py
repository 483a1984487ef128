"""Helpers for service migrations."""

from collections.abc import Callable, Mapping

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


Step = Callable[[], None]


def retention_steps(tables: Mapping[str, tuple[str, str]], guard_function: str) -> tuple[Step, Step]:
    """A revision's ``upgrade, downgrade`` that install / remove the retention purge over ``tables``
    (``shared.retention.install`` / ``uninstall``)."""
    from shared import retention

    def upgrade() -> None:
        retention.install(tables, guard_function)

    def downgrade() -> None:
        retention.uninstall(tables, guard_function)

    return upgrade, downgrade


def data_keys_steps() -> tuple[Step, Step]:
    """A revision's ``upgrade, downgrade`` that create / drop the per-participant ``data_keys`` table
    (``shared.keyring.create_data_keys``)."""
    from shared import keyring

    def upgrade() -> None:
        keyring.create_data_keys()

    def downgrade() -> None:
        op.execute("DROP TABLE data_keys")

    return upgrade, downgrade
