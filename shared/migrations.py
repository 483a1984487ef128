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


def drop_access_reasons() -> None:
    """Undo ``shared.access_audit.add_access_reasons`` (the break-the-glass columns and index)."""
    op.execute("DROP INDEX access_log_flagged_idx")
    for column in ("reason", "reason_kind", "flagged"):
        op.execute(f"ALTER TABLE access_log DROP COLUMN {column}")


def minimum_necessary_steps() -> tuple[Step, Step]:
    """A revision's ``upgrade, downgrade`` for minimum necessary in a service that projects intake's
    assignments: the access log's break-the-glass columns and the ``caseload_assignments`` table."""
    from shared.access_audit import add_access_reasons
    from shared.minimum_necessary import create_assignments

    def upgrade() -> None:
        add_access_reasons()
        create_assignments()

    def downgrade() -> None:
        op.execute("DROP TABLE caseload_assignments")
        drop_access_reasons()

    return upgrade, downgrade
