"""Waypoint infrastructure bootstrap: Kafka and PostgreSQL for dev and tests.

Entry point: :mod:`deploy.infra` (``python -m deploy.infra up``).
"""
