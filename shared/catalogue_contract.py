"""The compatibility promise of the event catalogue, checked by code.

``shared/catalogue/released.json`` holds the last released form of every event of the catalogue
(its schema version and payload JSON Schema with references resolved). :func:`breaking_changes`
compares the code's current catalogue with it and names every change that would break a reader:

- an event that disappeared, or whose schema version went down;
- at the same schema version: a field removed or renamed, a field whose type changed (including
  enum values and formats), a new required field, a field that was always present becoming
  optional (a reader relying on it would fail), recursively inside nested objects and lists;
- at a higher schema version: a missing upcaster for any version between the released one and
  the current one, or an upcaster chain that does not turn an example of the released form into
  a valid current event.

Adding an event, or an optional field at the same version, is compatible. After a release,
``waypoint catalogue --release`` rewrites the released form from the code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from shared.events import DomainEvent, has_upcaster, upcast

RELEASED_PATH = Path(__file__).resolve().parent / "catalogue" / "released.json"
FORMAT = 1
_ANNOTATIONS = {"title", "description", "default", "examples", "$id"}


def resolve(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0, *, annotations: bool = False) -> Any:
    """``schema`` with every local ``$ref`` replaced by its definition (self-contained), and
    annotations (title, description, default, examples) dropped unless ``annotations``."""
    if defs is None:
        defs = schema.get("$defs", {})
    if depth > 32:
        raise ValueError("schema nests too deeply (recursive model?)")
    if isinstance(schema, list):
        return [resolve(v, defs, depth + 1, annotations=annotations) for v in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return resolve(merged, defs, depth + 1, annotations=annotations)
    dropped = {"$id", "$defs"} if annotations else _ANNOTATIONS | {"$defs"}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in dropped:
            continue
        if key in ("properties", "patternProperties"):  # maps of field names: "title" may be a field
            out[key] = {n: resolve(v, defs, depth + 1, annotations=annotations) for n, v in value.items()}
        elif key == "default" or key == "examples" or key == "const" or key == "enum":
            out[key] = value
        else:
            out[key] = resolve(value, defs, depth + 1, annotations=annotations)
    return out


def payload_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    """The resolved payload schema of an event class, as kept in the released catalogue."""
    resolved: dict[str, Any] = resolve(cls.model_json_schema(mode="serialization"))
    return resolved


def snapshot(events: Iterable[type[DomainEvent]]) -> dict[str, Any]:
    """The released-catalogue form of ``events`` (what ``released.json`` stores)."""
    return {
        "format": FORMAT,
        "events": {
            cls.__name__: {"service": cls.service, "version": cls.schema_version, "type": cls.type_name(),
                           "schema": payload_schema(cls)}
            for cls in sorted(events, key=lambda c: c.__name__)
        },
    }


def current_snapshot() -> dict[str, Any]:
    """The catalogue as the code defines it now."""
    from shared.catalogue_export import events_by_service

    return snapshot(cls for events in events_by_service().values() for cls in events)


def load_released(path: Path = RELEASED_PATH) -> dict[str, Any]:
    released: dict[str, Any] = json.loads(path.read_text())
    if released.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown released-catalogue format {released.get('format')!r}")
    return released


def render_released(snap: dict[str, Any]) -> str:
    return json.dumps(snap, indent=2, sort_keys=True) + "\n"


def _schema_changes(path: str, old: Any, new: Any) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        if "properties" in old and "properties" in new:
            return _object_changes(path, old, new)
        if old.get("type") == "array" and new.get("type") == "array" and "items" in old and "items" in new:
            rest_old = {k: v for k, v in old.items() if k != "items"}
            rest_new = {k: v for k, v in new.items() if k != "items"}
            found = [] if rest_old == rest_new else [f"{path}: array constraints changed"]
            return found + _schema_changes(f"{path}[]", old["items"], new["items"])
        if "anyOf" in old and "anyOf" in new and len(old["anyOf"]) == len(new["anyOf"]):
            found = []
            for i, (o, n) in enumerate(zip(old["anyOf"], new["anyOf"], strict=True)):
                found += _schema_changes(path if i == 0 else f"{path}<{i}>", o, n)
            return found
    if old != new:
        return [f"{path}: type changed from {_short(old)} to {_short(new)}"]
    return []


def _object_changes(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    found = []
    old_props, new_props = old["properties"], new["properties"]
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name, schema in old_props.items():
        where = f"{path}.{name}" if path else name
        if name not in new_props:
            found.append(f"{where}: field removed or renamed")
            continue
        found += _schema_changes(where, schema, new_props[name])
        if name in old_required and name not in new_required:
            found.append(f"{where}: was always present, now optional")
    for name in sorted(new_required - old_required):
        where = f"{path}.{name}" if path else name
        if name in old_props:
            continue  # optional -> required: every released reader already handles it
        found.append(f"{where}: new required field")
    if old.get("additionalProperties") != new.get("additionalProperties"):
        found.append(f"{path or 'payload'}: additionalProperties changed")
    return found


def _short(schema: Any) -> str:
    text = json.dumps(schema, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def breaking_changes(
    released: dict[str, Any],
    current: dict[str, Any],
    *,
    upcaster_exists: Callable[[str, int], bool] = has_upcaster,
    lift: Callable[[str, int, dict[str, Any]], dict[str, Any]] = upcast,
    classes: dict[str, type[DomainEvent]] | None = None,
) -> list[str]:
    """Every incompatible difference between the released catalogue and ``current``, as sentences
    naming the event and the field (empty: compatible)."""
    problems = []
    now = current["events"]
    for name, before in sorted(released["events"].items()):
        after = now.get(name)
        if after is None:
            problems.append(f"{name}: event removed from the catalogue")
            continue
        if after["version"] < before["version"]:
            problems.append(f"{name}: schema version went down from {before['version']} to {after['version']}")
        elif after["version"] == before["version"]:
            problems += [f"{name} v{before['version']}: {p}"
                         for p in _schema_changes("", before["schema"], after["schema"])]
        else:
            problems += _version_raise_problems(name, before, after, upcaster_exists, lift, classes)
    return problems


def _version_raise_problems(name: str, before: dict[str, Any], after: dict[str, Any],
                            upcaster_exists: Callable[[str, int], bool],
                            lift: Callable[[str, int, dict[str, Any]], dict[str, Any]],
                            classes: dict[str, type[DomainEvent]] | None) -> list[str]:
    missing = [v for v in range(before["version"], after["version"]) if not upcaster_exists(name, v)]
    if missing:
        return [f"{name}: version raised from {before['version']} to {after['version']} but no upcaster "
                f"covers v{v} (add @upcaster({name!r}, {v}))" for v in missing]
    if classes is None:
        from shared.events import registered_events

        classes = registered_events()
    cls = classes.get(name)
    if cls is None:
        return []
    try:
        cls.model_validate(lift(name, before["version"], example(before["schema"])))
    except Exception as exc:  # any failure: the chain does not cover the old form
        return [f"{name}: the upcasters from v{before['version']} do not turn an example of the released "
                f"form into a valid v{after['version']} event ({type(exc).__name__}: {str(exc)[:200]})"]
    return []


_FORMATS = {
    "uuid": "7f1c6a52-3b8e-4c1e-9a51-0d6a0b7e2f10",
    "date-time": "2026-03-02T09:30:00Z",
    "date": "2026-03-02",
    "time": "09:30:00",
    "duration": "P7D",
    "email": "someone@example.org",
    "uri": "https://example.org/",
}
_PATTERN_CANDIDATES = ("America/New_York", "example", "A1", "a")


def example(schema: Any, name: str = "") -> Any:
    """A value valid against ``schema`` (resolved form): documentation examples and upcaster checks."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"] or schema["anyOf"]
        return example(options[0], name)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {k: example(v, k) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema.get("items", {}), name) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(max(low, 0) if schema.get("maximum", 1 << 30) >= 0 else low)
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        pattern = schema.get("pattern")
        if pattern:
            for candidate in _PATTERN_CANDIDATES:
                if re.search(pattern, candidate):
                    return candidate
        if name.endswith("agency_id"):
            return "agency-b"
        text = name or "text"
        return (text * (1 + schema.get("minLength", 0) // max(len(text), 1)))[: schema.get("maxLength", 64)]
    return None
