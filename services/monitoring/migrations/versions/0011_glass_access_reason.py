"""Minimum necessary, with break-the-glass (shared/minimum_necessary.py): the access log records
why a record was opened outside the caller's caseload (a flagged row), and the service keeps a
projection of intake's assignments (who is on whose caseload), with row-level security."""

from shared.migrations import minimum_necessary_steps

revision = "0011_glass"
down_revision = "0010_erasure_data_keys"
upgrade, downgrade = minimum_necessary_steps()
