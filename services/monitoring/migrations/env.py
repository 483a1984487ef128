"""Alembic environment: the kernel's shared online runner."""

from shared.alembic_env import run_migrations

run_migrations()
