"""Settings common to every service, read from the environment (and ``.waypoint/infra.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.keyring import MasterKeyProblem, MasterKeys

DEFAULT_PORTS = {"intake": 8001, "planning": 8002, "monitoring": 8003, "notifications": 8004}
DEVELOPMENT = "development"
DEV_DB_APP_PASSWORD = "waypoint-app-development"
DEV_JWT_SECRET = "waypoint-development-secret-change-me-0123456789"
MIN_SECRET_LENGTH = 32


class InsecureSettings(ValueError):
    """The settings cannot run outside development; the message says what to set."""


class KafkaCredentialsMissing(InsecureSettings):
    """SASL is configured for Kafka but a username or password is missing; the message says which."""


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
    #: min.insync.replicas of the topics a service creates (None: the broker's default); with a
    #: three-broker cluster, replication factor 3 and 2 here: a write survives one broker lost.
    kafka_min_insync_replicas: int | None = None
    kafka_retention_ms: int = -1  # -1: keep events forever (read models are rebuilt from the topics)
    #: How this process authenticates to Kafka: ``PLAINTEXT`` (development and tests: the local
    #: listener, an anonymous super user) or ``SASL_PLAINTEXT``/``SASL_SSL`` as its own principal
    #: (SCRAM; ``svc-<service>`` with the ACLs of deploy/kafka_security.py). Every Kafka client a
    #: service builds takes :meth:`ServiceSettings.kafka_client_options`.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    #: a file holding the password (a container secret); read when a client is built
    kafka_sasl_password_file: Path | None = None
    #: SASL_SSL: the CA bundle that signed the brokers' certificates (the system's CAs if unset)
    kafka_ssl_cafile: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    http_workers: int = 1
    #: ``development`` (the default of ``make up`` and the tests) accepts HS256 tokens signed with
    #: ``JWT_SECRET``; any other value (``production``, ``staging``...) needs an identity provider.
    waypoint_env: str = DEVELOPMENT
    jwt_secret: str = Field(default=DEV_JWT_SECRET)
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    #: tokens living longer than this (``exp - iat``) are refused
    jwt_max_lifetime_s: int = 12 * 3600
    #: seconds between two JWKS fetches caused by tokens naming an unknown key
    jwt_jwks_min_refresh_s: float = 30.0
    #: request bodies over this many bytes get 413 before parsing
    max_body_bytes: int = 256 * 1024
    #: the database role the service connects as (owns nothing, no BYPASSRLS); the migrations run
    #: as the owner in DATABASE_URL. Created in development, by a DBA elsewhere.
    db_app_user: str = "waypoint_app"
    db_app_password: str | None = DEV_DB_APP_PASSWORD
    db_pool_min: int = 2
    db_pool_max: int = 20
    relay_batch_size: int = 2000
    relay_poll_interval_s: float = 0.5
    consumer_batch_size: int = 500
    operations_sample_interval_s: float = 15.0  # how often /metrics' operational gauges are refreshed (0: never)
    # retention of the access log and the disclosure ledger (shared/retention.py): at least six years
    retention_years: int = Field(default=6, ge=6)
    retention_purge_interval_s: float = 3600.0  # how often the purge looks for expired rows (0: never)
    retention_purge_batch: int = Field(default=1000, ge=1, le=100_000)
    #: The master key wrapping each participant's data key (base64 of 32 random bytes) and its id;
    #: earlier keys (``id=base64,...``) still unwrap until ``waypoint keys rotate`` re-wrapped them.
    #: Development falls back to a public key; elsewhere a missing or weak key stops the service.
    waypoint_master_key: str | None = None
    waypoint_master_key_id: str = "k1"
    waypoint_previous_master_keys: str = ""
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def development(self) -> bool:
        return self.waypoint_env == DEVELOPMENT

    @property
    def hs256_secret(self) -> str | None:
        """The HS256 secret, or None outside development (HS256 tokens are then refused)."""
        return self.jwt_secret if self.development else None

    def check_security(self) -> None:
        """Raise :class:`InsecureSettings` (one line naming what to set) if this configuration
        must not serve outside development (or, with SASL, lacks its Kafka credentials)."""
        self.kafka_client_options()  # KafkaCredentialsMissing, in every environment
        if self.development:
            return
        missing = [name for name, value in (
            ("JWT_JWKS_URL", self.jwt_jwks_url), ("JWT_ISSUER", self.jwt_issuer), ("JWT_AUDIENCE", self.jwt_audience),
        ) if not value]
        if self.db_app_password == DEV_DB_APP_PASSWORD:
            missing.append("DB_APP_PASSWORD")
        secret_problem = None
        if not self.jwt_jwks_url:
            if not self.jwt_secret:
                secret_problem = "JWT_SECRET is missing"
            elif self.jwt_secret == DEV_JWT_SECRET:
                secret_problem = "JWT_SECRET is the development default"
            elif len(self.jwt_secret) < MIN_SECRET_LENGTH:
                secret_problem = f"JWT_SECRET is shorter than {MIN_SECRET_LENGTH} characters"
        if missing or secret_problem:
            why = f"{secret_problem}; " if secret_problem else ""
            raise InsecureSettings(
                f"WAYPOINT_ENV={self.waypoint_env}: {why}set {', '.join(missing)} "
                "(HS256 tokens signed with JWT_SECRET are accepted only with WAYPOINT_ENV=development)"
            )
        try:
            self.master_keys()
        except MasterKeyProblem as exc:
            raise InsecureSettings(f"WAYPOINT_ENV={self.waypoint_env}: {exc} (set WAYPOINT_MASTER_KEY to base64 of"
                                   " 32 random bytes, e.g. `openssl rand -base64 32`)") from None

    def master_keys(self) -> MasterKeys:
        """The master keys these settings name (raises :class:`MasterKeyProblem`)."""
        return MasterKeys.parse(self.waypoint_master_key, self.waypoint_master_key_id,
                                self.waypoint_previous_master_keys, development=self.development)

    @property
    def port(self) -> int:
        return self.http_port or DEFAULT_PORTS.get(self.service, 8000)

    @property
    def kafka_authenticated(self) -> bool:
        """True when this process connects as its own principal (SASL), not as the local super user."""
        return self.kafka_security_protocol != "PLAINTEXT"

    def kafka_client_options(self) -> dict[str, Any]:
        """The security keyword arguments of every aiokafka client of this process (producer,
        consumer, admin, bare client), beside ``bootstrap_servers=kafka_bootstrap_servers``.
        Empty for PLAINTEXT; raises :class:`KafkaCredentialsMissing` when SASL lacks a credential."""
        if not self.kafka_authenticated:
            return {}
        password = self.kafka_sasl_password
        if self.kafka_sasl_password_file is not None:
            try:
                password = self.kafka_sasl_password_file.read_text().strip()
            except OSError as exc:
                raise KafkaCredentialsMissing(f"KAFKA_SASL_PASSWORD_FILE cannot be read: {exc}") from exc
        if not self.kafka_sasl_username or not password:
            raise KafkaCredentialsMissing(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)")
        options: dict[str, Any] = {
            "security_protocol": self.kafka_security_protocol, "sasl_mechanism": self.kafka_sasl_mechanism,
            "sasl_plain_username": self.kafka_sasl_username, "sasl_plain_password": password}
        if self.kafka_security_protocol == "SASL_SSL":
            from aiokafka.helpers import create_ssl_context

            try:
                options["ssl_context"] = create_ssl_context(
                    cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise KafkaCredentialsMissing(f"KAFKA_SSL_CAFILE cannot be used: {exc}") from exc
        return options

    def as_kafka_principal(self, username: str | None, password: str | None = None,
                           password_file: Path | None = None) -> ServiceSettings:
        """These settings with another Kafka principal (e.g. the agency copier inside notifications)."""
        return self.model_copy(update={"kafka_sasl_username": username, "kafka_sasl_password": password,
                                       "kafka_sasl_password_file": password_file})

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
