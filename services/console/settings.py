"""Console configuration, read from the environment (and ``.waypoint/infra.env``)."""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import ServiceSettings

DEV_JWT_SECRET = ServiceSettings.model_fields["jwt_secret"].default


class ConsoleSettings(BaseSettings):
    """``WAYPOINT_ENV=production`` removes the development sign-in and requires an OIDC provider."""

    model_config = SettingsConfigDict(env_file=(".waypoint/infra.env",), extra="ignore")

    waypoint_env: Literal["development", "production"] = "development"
    http_host: str = "127.0.0.1"
    console_port: int = 8000
    intake_url: str = "http://127.0.0.1:8001"
    planning_url: str = "http://127.0.0.1:8002"
    monitoring_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    #: where the development SMTP catcher's mailbox API answers (development only)
    mailbox_url: str | None = None
    #: encrypts and signs the session cookie; a random one (sessions end at restart) when unset
    session_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    session_ttl_s: int = 8 * 3600
    #: Secure cookies: "auto" sets it when the request came over HTTPS (or X-Forwarded-Proto says so)
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    jwt_secret: str = DEV_JWT_SECRET
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid profile email"
    oidc_redirect_url: str | None = None
    #: the claim names the provider uses for the agency and the roles
    oidc_agency_claim: str = "agency_id"
    oidc_roles_claim: str = "roles"
    service_timeout_s: float = 10.0
    log_level: str = "INFO"

    @property
    def development(self) -> bool:
        return self.waypoint_env == "development"

    def service_urls(self) -> dict[str, str]:
        return {
            "intake": self.intake_url, "planning": self.planning_url,
            "monitoring": self.monitoring_url, "notifications": self.notifications_url,
        }
