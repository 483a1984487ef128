"""Notifications' own settings (``NOTIFICATIONS_*`` environment variables)."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notifications.domain.webhooks import RetryPolicy
from shared.egress import EgressPolicy, parse_networks


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", env_file=(".waypoint/infra.env",), extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_sender: str = "Waypoint <no-reply@waypoint.local>"
    smtp_timeout_s: float = 10.0
    base_url: str = "http://localhost:8004"
    ack_timeout_s: float = 900.0
    escalation_poll_s: float = 1.0
    dispatch_poll_s: float = 0.5
    dispatch_batch: int = 100
    dispatch_concurrency: int = 32
    dispatch_lease_s: float = 60.0
    webhook_timeout_s: float = 5.0
    retry_max_attempts: int = 6
    retry_base_s: float = 2.0
    retry_cap_s: float = 600.0
    details_for_staff: bool = False
    #: Run the per-agency topic copier (waypoint.agency.<agency>.v1) in this process; `waypoint up` turns it on.
    agency_topics: bool = False
    #: The copier's own Kafka principal when the services connect with SASL (it reads every
    #: service topic and writes the agency topics: rights the notifications principal has not).
    copier_kafka_username: str = "agency-copier"
    copier_kafka_password: str | None = None
    copier_kafka_password_file: Path | None = None

    #: networks webhooks may reach although they are private (on-premises partners), comma separated
    #: CIDRs such as ``10.20.0.0/16,192.168.7.12``; loopback/private/link-local/metadata are refused otherwise
    webhook_allowed_networks: str = ""

    @cached_property
    def egress_policy(self) -> EgressPolicy:
        return EgressPolicy(parse_networks(self.webhook_allowed_networks))

    @property
    def ack_timeout(self) -> timedelta:
        return timedelta(seconds=self.ack_timeout_s)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.retry_max_attempts,
            base=timedelta(seconds=self.retry_base_s),
            cap=timedelta(seconds=self.retry_cap_s),
        )
