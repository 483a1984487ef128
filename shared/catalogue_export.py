"""Publish the event catalogue: AsyncAPI 3, one JSON Schema per event, and a Markdown index.

The AsyncAPI document is built here rather than by FastStream: FastStream describes one message
per topic (a union payload, headers in prose), and integrators need one message per event type
with its CloudEvents headers and ``ce_type`` fixed, so that generated code has one type per event.

`waypoint catalogue` writes them under ``docs/catalogue/``; a test fails when they drift from the code.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from shared import catalogue  # noqa: F401  (registers every event)
from shared.catalogue_contract import example as contract_example
from shared.catalogue_contract import resolve
from shared.cloudevents import CLASSIFICATION, REGULATION, SPEC_VERSION, topic_for
from shared.events import SERVICES, DomainEvent, registered_events

HEADERS_DOC = (
    "CloudEvents 1.0 binary mode. Headers: ce_specversion=1.0, ce_id, ce_source=/waypoint/<service>, "
    "ce_type=waypoint.<service>.<Event>.v<N>, ce_time, ce_subject=<participant id>, "
    "content-type=application/json, ce_agencyid, ce_correlationid, ce_causationid (when caused by "
    f"another event), ce_dataclassification={CLASSIFICATION}, ce_dataregulation={REGULATION}. "
    "Record key: participant id."
)
AGENCY_TOPIC = "waypoint.agency.{agency_id}.v1"
FEED_PATH = "/v1/events"
FEED_SERVICE = "notifications"
#: The SASL listener of the native broker in development (``waypoint up``); see docs/integrations.md.
SASL_DEV_PORT = 9094
_EXAMPLE_IDS = {
    "ce_id": "0b6f3f5e-8d1c-4a53-9d55-3c2a0f1b7e21",
    "ce_subject": "7f1c6a52-3b8e-4c1e-9a51-0d6a0b7e2f10",
    "ce_agencyid": "agency-a",
    "ce_correlationid": "4f0e2d8a-1b6c-4e7f-8a90-2c3d4e5f6a7b",
    "ce_time": "2026-03-02T09:30:00+00:00",
}


def events_by_service() -> dict[str, list[type[DomainEvent]]]:
    grouped: dict[str, list[type[DomainEvent]]] = {s: [] for s in SERVICES}
    for cls in registered_events().values():
        if cls.__module__.startswith("shared.catalogue."):
            grouped[cls.service].append(cls)
    return {s: sorted(v, key=lambda c: c.__name__) for s, v in grouped.items()}


def _summary(cls: type[DomainEvent]) -> str:
    return " ".join((cls.__doc__ or "").split()) or cls.__name__


def headers_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    """The Kafka headers of ``cls``'s records: the CloudEvents attributes, ``ce_type`` fixed."""
    def text(description: str, **extra: Any) -> dict[str, Any]:
        return {"type": "string", "description": description, **extra}

    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type",
                     "ce_agencyid", "ce_correlationid", "ce_dataclassification", "ce_dataregulation"],
        "properties": {
            "ce_specversion": text("CloudEvents specification version.", const=SPEC_VERSION),
            "ce_id": text("Event id, unique; the deduplication key for at-least-once delivery.", format="uuid"),
            "ce_source": text("The publishing service.", const=f"/waypoint/{cls.service}"),
            "ce_type": text("Event type and schema major version.", const=cls.type_name()),
            "ce_time": text("When it happened (RFC 3339).", format="date-time"),
            "ce_subject": text("The participant the event is about (also the record key).", format="uuid"),
            "content-type": text("Content type of the record value.", const="application/json"),
            "ce_agencyid": text("The agency the event belongs to."),
            "ce_correlationid": text("Correlation id shared by everything one request caused."),
            "ce_causationid": text("Id of the event that caused this one (absent for a person's command)."),
            "ce_dataclassification": text("Data classification.", const=CLASSIFICATION),
            "ce_dataregulation": text("Regulation the data falls under.", const=REGULATION),
        },
    }


def example_headers(cls: type[DomainEvent]) -> dict[str, str]:
    return {"ce_specversion": SPEC_VERSION, "ce_id": _EXAMPLE_IDS["ce_id"], "ce_source": f"/waypoint/{cls.service}",
            "ce_type": cls.type_name(), "ce_time": _EXAMPLE_IDS["ce_time"], "ce_subject": _EXAMPLE_IDS["ce_subject"],
            "content-type": "application/json", "ce_agencyid": _EXAMPLE_IDS["ce_agencyid"],
            "ce_correlationid": _EXAMPLE_IDS["ce_correlationid"], "ce_dataclassification": CLASSIFICATION,
            "ce_dataregulation": REGULATION}


def structured(headers: dict[str, str], data: Any) -> dict[str, Any]:
    """The CloudEvents JSON structured form (the HTTP feed) of binary-mode headers and data."""
    event: dict[str, Any] = {"datacontenttype": headers.get("content-type", "application/json")}
    for key, value in headers.items():
        if key.startswith("ce_"):
            event[key[3:]] = value
    event["data"] = data
    return event


def _payload(cls: type[DomainEvent]) -> dict[str, Any]:
    schema: dict[str, Any] = resolve(cls.model_json_schema(mode="serialization"), annotations=True)
    schema["description"] = _summary(cls)
    return schema


def _kafka_message(cls: type[DomainEvent]) -> dict[str, Any]:
    example = contract_example(resolve(cls.model_json_schema(mode="serialization")))
    return {
        "name": cls.__name__,
        "title": f"{cls.__name__} (v{cls.schema_version})",
        "summary": _summary(cls),
        "contentType": "application/json",
        "headers": headers_schema(cls),
        "payload": _payload(cls),
        "correlationId": {"description": "Shared by everything one request caused.",
                          "location": "$message.header#/ce_correlationid"},
        "bindings": {"kafka": {"bindingVersion": "0.5.0",
                               "key": {"type": "string", "format": "uuid",
                                       "description": "Participant id: one participant's events stay in order."}}},
        "examples": [{"name": cls.__name__, "headers": example_headers(cls), "payload": example}],
    }


def _feed_message(cls: type[DomainEvent]) -> dict[str, Any]:
    headers = headers_schema(cls)
    props = {key[3:]: value for key, value in headers["properties"].items() if key.startswith("ce_")}
    props["datacontenttype"] = headers["properties"]["content-type"]
    props["data"] = _payload(cls)
    payload = {"type": "object", "properties": props,
               "required": [k[3:] for k in headers["required"] if k.startswith("ce_")] + ["data"]}
    example = contract_example(resolve(cls.model_json_schema(mode="serialization")))
    return {
        "name": cls.__name__,
        "title": f"{cls.__name__} (v{cls.schema_version}, CloudEvents structured mode)",
        "summary": _summary(cls),
        "contentType": "application/cloudevents+json",
        "payload": payload,
        "correlationId": {"location": "$message.payload#/correlationid"},
        "examples": [{"name": cls.__name__, "payload": structured(example_headers(cls), example)}],
    }


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3 document: one message per event (headers with ``ce_type`` fixed, payload,
    example, correlation id), the service topics, the per-agency topics and the HTTP feed."""
    by_service = {s: events for s, events in events_by_service().items() if events}
    published = [cls for events in by_service.values() for cls in events]
    messages: dict[str, Any] = {}
    for cls in published:
        messages[cls.type_name()] = _kafka_message(cls)
        messages[f"feed.{cls.type_name()}"] = _feed_message(cls)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for service, events in by_service.items():
        channels[service], operations[f"publish-{service}"] = _service_topic(service, events)
    channels["agency"], operations["publish-agency"] = _agency_topic(published)
    channels["feed"], operations["serve-feed"] = _feed(published)
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Waypoint events", "version": "1.0.0",
                 "description": "The published language of Waypoint: every event, where to read it, and the "
                                "compatibility promise (docs/integrations.md). " + HEADERS_DOC},
        "defaultContentType": "application/json",
        "servers": copy.deepcopy(_SERVERS),  # the caller may change its document
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                "scram": {"type": "scramSha512", "description": "One principal per agency integrator."},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "A token with the integration role and the agency_id claim."},
            },
        },
    }


_SERVERS: dict[str, Any] = {
    "development": {"host": "localhost:9092", "protocol": "kafka",
                    "description": "Development plaintext listener (localhost only)."},
    "kafka-sasl": {"host": f"localhost:{SASL_DEV_PORT}", "protocol": "kafka",
                   "description": "SASL/SCRAM-SHA-512 listener with ACLs (integrators and services).",
                   "security": [{"$ref": "#/components/securitySchemes/scram"}]},
    "feed": {"host": f"localhost:{8004}", "protocol": "http",
             "description": f"The {FEED_SERVICE} service's HTTP API.",
             "security": [{"$ref": "#/components/securitySchemes/bearer"}]},
}


def _refs(classes: list[type[DomainEvent]], prefix: str = "") -> dict[str, Any]:
    return {cls.__name__: {"$ref": f"#/components/messages/{prefix}{cls.type_name()}"} for cls in classes}


def _service_topic(service: str, events: list[type[DomainEvent]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The channel of a service's topic and its publishing operation."""
    channel = {
        "address": topic_for(service),
        "title": topic_for(service),
        "description": f"Every event of the {service} service, all agencies (service principals only). "
                       + HEADERS_DOC,
        "servers": [{"$ref": "#/servers/development"}, {"$ref": "#/servers/kafka-sasl"}],
        "messages": _refs(events),
        "bindings": {"kafka": {"bindingVersion": "0.5.0", "topic": topic_for(service)}},
    }
    operation = {
        "action": "send", "channel": {"$ref": f"#/channels/{service}"},
        "summary": f"The {service} service publishes its events (through its outbox).",
        "messages": [{"$ref": f"#/channels/{service}/messages/{cls.__name__}"} for cls in events],
    }
    return channel, operation


def _agency_topic(published: list[type[DomainEvent]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The per-agency topic's channel and the copier's operation."""
    channel = {
        "address": AGENCY_TOPIC,
        "title": "Per-agency topic",
        "description": "Every published event of one agency, copied from the service topics in order per "
                       "participant, exactly once in effect (read with isolation.level=read_committed). "
                       "An agency's integrator principal may read only its own agency's topic. " + HEADERS_DOC,
        "parameters": {"agency_id": {"description": "The agency (the `agency_id` claim of its tokens)."}},
        "servers": [{"$ref": "#/servers/kafka-sasl"}],
        "messages": _refs(published),
    }
    operation = {
        "action": "send", "channel": {"$ref": "#/channels/agency"},
        "summary": "The agency copier republishes each event of an agency on that agency's topic.",
        "messages": [{"$ref": f"#/channels/agency/messages/{cls.__name__}"} for cls in published],
    }
    return channel, operation


def _feed(published: list[type[DomainEvent]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HTTP feed's channel and its serving operation."""
    channel = {
        "address": FEED_PATH,
        "title": "HTTP event feed",
        "description": (f"Served by the {FEED_SERVICE} service: GET {FEED_PATH}?after=<cursor>[&type=<ce type>] "
                        "with a bearer token holding the integration role returns the caller's agency's events "
                        "in CloudEvents JSON structured mode, as server-sent events (Accept: text/event-stream; "
                        "the SSE id is the cursor) or as a JSON page {events, next_cursor}. Resume from the last "
                        "cursor: nothing is missed and nothing repeats."),
        "servers": [{"$ref": "#/servers/feed"}],
        "messages": _refs(published, "feed."),
        "bindings": {"http": {"bindingVersion": "0.3.0"}},
    }
    operation = {
        "action": "send", "channel": {"$ref": "#/channels/feed"},
        "summary": "The feed sends the caller's agency's events after a cursor.",
        "bindings": {"http": {"bindingVersion": "0.3.0", "method": "GET"}},
        "messages": [{"$ref": f"#/channels/feed/messages/{cls.__name__}"} for cls in published],
    }
    return channel, operation


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per event type, keyed by its CloudEvents type."""
    out = {}
    for events in events_by_service().values():
        for cls in events:
            schema = cls.model_json_schema(mode="serialization")
            schema["$id"] = f"https://waypoint.dev/events/{cls.type_name()}.json"
            schema["description"] = (cls.__doc__ or "").strip() or cls.__name__
            out[cls.type_name()] = schema
    return out


def markdown() -> str:
    lines = ["# Event catalogue", "", "Generated by `waypoint catalogue` from `shared/catalogue/`; do not edit.",
             "", HEADERS_DOC, "",
             "Each event is also published on its agency's topic `waypoint.agency.<agency_id>.v1` and served by "
             f"the HTTP feed `GET {FEED_PATH}` ({FEED_SERVICE}). `asyncapi.json` describes every event as its own "
             "message; `schemas/` holds each payload's JSON Schema. Compatibility promise and how it is checked "
             "against `shared/catalogue/released.json`: [docs/integrations.md](../integrations.md).", ""]
    for service, events in events_by_service().items():
        lines += [f"## `{topic_for(service)}` ({service})", "", "| event | fields | meaning |", "|---|---|---|"]
        for cls in events:
            fields = ", ".join(f"`{n}`" for n in cls.model_fields)
            doc = " ".join((cls.__doc__ or "").split())
            lines.append(f"| `{cls.type_name()}` | {fields} | {doc} |")
        lines.append("")
    return "\n".join(lines)


def render() -> dict[str, str]:
    """Every catalogue file, path (relative to docs/catalogue) -> content."""
    files = {"asyncapi.json": json.dumps(asyncapi(), indent=2, sort_keys=True) + "\n",
             "README.md": markdown()}
    for ce_type, schema in json_schemas().items():
        files[f"schemas/{ce_type}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def write(root: Path) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "schemas").mkdir(exist_ok=True)
    for stale in (root / "schemas").glob("*.json"):
        stale.unlink()
    written = []
    for rel, content in render().items():
        path = root / rel
        path.write_text(content)
        written.append(path)
    return written
