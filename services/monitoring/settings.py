"""Monitoring's own settings (environment variables prefixed ``MONITORING_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class MonitoringSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MONITORING_", extra="ignore")

    scheduler_enabled: bool = True
    #: Concurrent sweep workers per replica for missed check-ins (rows are claimed with SKIP LOCKED).
    scheduler_workers: int = 2
    scheduler_batch_size: int = 500
    scheduler_idle_poll_s: float = 0.25
    milestone_poll_s: float = 30.0
    #: Most check-ins the check-in writer puts in one transaction (group commit).
    check_in_batch_max: int = 128
    #: Writer tasks of the check-in writer: while one batch is in the database, the next is built.
    check_in_writers: int = 2
