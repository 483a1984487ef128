"""Settings common to every service, read from the environment (and ``.waypoint/infra.env``)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {"intake": 8001, "planning": 8002, "monitoring": 8003, "notifications": 8004}


class ServiceSettings(BaseSettings):
    """Runtime configuration. ``DATABASE_URL`` names the server; each service uses its own database
    on it (``waypoint_<service>``) unless ``<SERVICE>_DATABASE_URL`` points elsewhere."""

    model_config = SettingsConfigDict(env_file=(".waypoint/infra.env",), extra="ignore")

    service: str = "intake"
    database_url: str = "postgresql://waypoint:waypoint@127.0.0.1:55432/postgres"
    service_database_url: str | None = None
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_partitions: int = 6
    kafka_replication_factor: int = 1
    kafka_retention_ms: int = -1  # -1: keep events forever (read models are rebuilt from the topics)
    #: The SASL/SCRAM-SHA-512 listener and this process's principal; used by the agency copier
    #: (the outbox and inbox still use the plaintext bootstrap above).
    kafka_sasl_bootstrap_servers: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    http_workers: int = 1
    jwt_secret: str = Field(default="waypoint-development-secret-change-me-0123456789")
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    db_pool_min: int = 2
    db_pool_max: int = 20
    relay_batch_size: int = 2000
    relay_poll_interval_s: float = 0.5
    consumer_batch_size: int = 500
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def port(self) -> int:
        return self.http_port or DEFAULT_PORTS.get(self.service, 8000)

    def kafka_sasl_client(self) -> tuple[str, dict[str, str]]:
        """Bootstrap and aiokafka keyword arguments of the SASL listener when it is configured
        (SASL_PLAINTEXT + SCRAM-SHA-512), else the plaintext bootstrap and no options."""
        if not (self.kafka_sasl_bootstrap_servers and self.kafka_sasl_username):
            return self.kafka_bootstrap_servers, {}
        return self.kafka_sasl_bootstrap_servers, {
            "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": self.kafka_sasl_username, "sasl_plain_password": self.kafka_sasl_password or ""}

    @property
    def dsn(self) -> str:
        """The asyncpg DSN of this service's own database."""
        if self.service_database_url:
            return self.service_database_url
        return database_for(self.database_url, f"waypoint_{self.service}")


def database_for(server_url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    parts = urlsplit(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    return urlunsplit(parts._replace(path=f"/{name}"))


def load_settings(service: str) -> ServiceSettings:
    """Settings for ``service``; ``<SERVICE>_DATABASE_URL`` overrides its database."""
    import os

    override = os.environ.get(f"{service.upper()}_DATABASE_URL")
    return ServiceSettings(service=service, service_database_url=override)
