"""Shared pieces of the benchmark commands: endpoints, a fresh database, percentiles."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.db import create_pool, ensure_database, migrate_async
from shared.settings import ServiceSettings, database_for

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "monitoring" / "migrations"


def endpoints() -> tuple[str, str]:
    """(PostgreSQL server URL, Kafka bootstrap) from the environment or ``.waypoint/infra.env``."""
    cfg = ServiceSettings(service="monitoring")
    return os.environ.get("DATABASE_URL", cfg.database_url), os.environ.get(
        "KAFKA_BOOTSTRAP_SERVERS", cfg.kafka_bootstrap_servers
    )


async def fresh_monitoring_database(server_url: str, prefix: str) -> tuple[asyncpg.Pool, str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await ensure_database(server_url, name)
    dsn = database_for(server_url, name)
    await migrate_async(dsn, MIGRATIONS)
    return await create_pool(dsn, min_size=2, max_size=12), dsn


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
    }


async def create_topics(bootstrap: str, topics: Sequence[str], partitions: int = 6) -> None:
    """Create a benchmark's topics (the broker does not create topics on first use); one that
    exists already is kept."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()
