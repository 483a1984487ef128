"""Domain events: the base model, the registry of event types, and schema upcasting.

Every event is a frozen pydantic model registered under ``(service, name, version)``. The
registry is what turns a stored row or a Kafka record back into a typed event, upcasting older
schema versions on the way so that readers only ever see the current shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

SERVICES = ("intake", "planning", "monitoring", "notifications")


class DomainEvent(BaseModel):
    """A past-tense fact. Subclasses declare their payload fields only.

    Identity, stream, agency and causation live in the envelope, not in the payload, so the same
    event type can be stored, published and replayed without copying transport concerns into it.
    Direct identifiers (names, contact details, free text) must never be payload fields: events
    travel on a bus that other agencies may read.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ClassVar[str]
    event_name: ClassVar[str]
    schema_version: ClassVar[int]
    #: A private event is stored in its service's event store but never published: the unit of
    #: work leaves it out of the outbox (e.g. planning's full plan versions, whose text stays home).
    private: ClassVar[bool] = False
    #: Dotted paths into the payload that the event store keeps sealed under the participant's
    #: data key (shared.keyring.EventSealer); each must be a field with a default (what an erased
    #: participant's event reads). Private events only.
    sealed: ClassVar[tuple[str, ...]] = ()

    def published(self) -> dict[str, Any]:
        """The JSON payload that leaves the service (Kafka record value).

        Defaults to the whole payload. An event whose stored form holds content that must stay
        in its service (e.g. plan text) overrides this to publish a redacted form.
        """
        return self.model_dump(mode="json")

    @classmethod
    def type_name(cls) -> str:
        """CloudEvents type, e.g. ``waypoint.intake.AssessmentCompleted.v1``."""
        return f"waypoint.{cls.service}.{cls.event_name}.v{cls.schema_version}"


E = TypeVar("E", bound=type[DomainEvent])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """Raised for an event name or schema version that this build does not know."""


_by_name: dict[str, type[DomainEvent]] = {}
_upcasters: dict[tuple[str, int], Upcaster] = {}


def event(service: str, version: int = 1) -> Callable[[E], E]:
    """Class decorator registering a domain event of ``service`` at schema ``version``.

    The event name is the class name. Registering the same name twice is a programming error.
    """
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")

    def register(cls: E) -> E:
        cls.service = service
        cls.event_name = cls.__name__
        cls.schema_version = version
        if cls.sealed and not cls.private:
            raise ValueError(f"event {cls.__name__} seals text but is published: only private events may")
        if cls.__name__ in _by_name and _by_name[cls.__name__] is not cls:
            raise ValueError(f"event {cls.__name__} registered twice")
        _by_name[cls.__name__] = cls
        return cls

    return register


def upcaster(name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning ``name`` data at ``from_version`` into ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        _upcasters[(name, from_version)] = fn
        return fn

    return register


def event_class(name: str) -> type[DomainEvent]:
    """The registered class for an event name (e.g. ``"PlanCreated"``)."""
    try:
        return _by_name[name]
    except KeyError:
        raise UnknownEventType(f"unknown event type {name!r}") from None


def registered_events() -> dict[str, type[DomainEvent]]:
    """All registered event classes by name (the catalogue)."""
    return dict(_by_name)


def has_upcaster(name: str, from_version: int) -> bool:
    """Whether data of ``name`` at ``from_version`` can be lifted to ``from_version + 1``."""
    return (name, from_version) in _upcasters


def upcast(name: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring ``data`` written at ``version`` up to the current schema version of ``name``."""
    cls = event_class(name)
    if version > cls.schema_version or version < 1:
        raise UnknownEventType(f"{name} schema version {version} is not supported")
    while version < cls.schema_version:
        step = _upcasters.get((name, version))
        if step is None:
            raise UnknownEventType(f"no upcaster for {name} v{version}")
        data = step(data)
        version += 1
    return data


def load_event(name: str, version: int, data: dict[str, Any]) -> DomainEvent:
    """Validate stored or received data into the current event model (upcasting first)."""
    cls = event_class(name)
    return cls.model_validate(upcast(name, version, data))


def parse_type(ce_type: str) -> tuple[str, str, int]:
    """Split ``waypoint.<service>.<Name>.v<N>`` into (service, name, version)."""
    parts = ce_type.split(".")
    if len(parts) != 4 or parts[0] != "waypoint" or not parts[3].startswith("v"):
        raise UnknownEventType(f"malformed event type {ce_type!r}")
    try:
        version = int(parts[3][1:])
    except ValueError:
        raise UnknownEventType(f"malformed event type {ce_type!r}") from None
    return parts[1], parts[2], version
