"""A minimal consumer of one agency's Waypoint events over Kafka (SASL/SCRAM-SHA-512).

It depends on nothing from Waypoint: only aiokafka. Configure it with environment variables:

    WAYPOINT_KAFKA_BOOTSTRAP   the SASL listener, e.g. 127.0.0.1:9094
    WAYPOINT_KAFKA_USERNAME    integrator-<agency>   (`waypoint integrator <agency>` prints it)
    WAYPOINT_KAFKA_PASSWORD
    WAYPOINT_AGENCY            your agency id (the topic is waypoint.agency.<agency>.v1)

Each event is printed as one JSON line: its CloudEvents attributes (from the record headers)
and its data (the record value). Delivery is at least once: the offset is committed after the
event was handled, and an event id already handled is skipped (a real integration keeps those
ids in its own database, in the transaction that applies the event).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from aiokafka import AIOKafkaConsumer


def cloudevent(record) -> dict:
    """Binary-mode CloudEvent -> a dict: ``ce_*`` headers become attributes, the value is ``data``."""
    headers = {key: value.decode() for key, value in record.headers or ()}
    event = {key[3:]: value for key, value in headers.items() if key.startswith("ce_")}
    event["datacontenttype"] = headers.get("content-type", "application/json")
    event["data"] = json.loads(record.value)
    return event


async def main() -> None:
    agency = os.environ["WAYPOINT_AGENCY"]
    user = os.environ["WAYPOINT_KAFKA_USERNAME"]
    consumer = AIOKafkaConsumer(
        f"waypoint.agency.{agency}.v1",
        bootstrap_servers=os.environ["WAYPOINT_KAFKA_BOOTSTRAP"],
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=user,
        sasl_plain_password=os.environ["WAYPOINT_KAFKA_PASSWORD"],
        group_id=f"{user}.example",         # your principal may use groups named <username>.*
        isolation_level="read_committed",   # only events the copier committed
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    seen: set[str] = set()
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    event = cloudevent(record)
                    if event["id"] in seen:
                        continue  # redelivered: already handled
                    seen.add(event["id"])
                    print(json.dumps(event, sort_keys=True), flush=True)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyError as missing:
        sys.exit(f"set {missing.args[0]} (see the docstring)")
