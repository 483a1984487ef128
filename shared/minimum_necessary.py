"""Minimum necessary, with break-the-glass: who may open a participant's full record.

42 CFR Part 2 and HIPAA ask that staff see only what their work needs, and that every exception
is accounted for. Every participant read route of the four services passes through
:func:`record_reader` (or :func:`enforce`), which decides, once for the whole installation:

* a **supervisor** opens any record of their agency (supervision is their work);
* a **specialist** opens the records of the people on their own caseload (the participant's
  assigned specialist is the caller);
* **anyone else on staff** (another specialist, an agency admin: administration is not care, so
  admins are not given clinical records by default) must give a reason in the
  ``Waypoint-Access-Reason`` header. With a valid reason the read is allowed and *flagged*: one
  row in the service's access log with the reason, which supervisors list through
  ``GET /v1/flagged-accesses``. Without one the answer is a 403 problem of type
  ``https://waypoint.dev/problems/break-the-glass-required`` (the console asks for a reason);
* the participant reading their own data, and an integration (a partner system the agency admin
  set up, acting for the agency, audited per read) are not on any caseload and pass unchanged;
  the routes' own rules for them still apply.

Who is on whose caseload: intake owns assignment (``ParticipantEnrolled``, ``SpecialistAssigned``,
``SpecialistUnassigned``). Intake reads its own participants table (a view named
``caseload_assignments``, never lagging); the other services keep the ``caseload_assignments``
projection of those events (:func:`create_assignments` in a migration, :func:`assignment_consumer`
among the service's consumers). A participant the projection does not know yet (a brand-new
enrolment still on its way, another agency's or an unknown id) is closed to anyone who needs the
caseload: 404 ``assignment-not-known``, with or without a reason.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request

from shared import access_audit
from shared.auth import Principal
from shared.cloudevents import ReceivedEvent, topic_for
from shared.domain import DomainError, InvalidCommand, NotFound
from shared.paging import Page, page
from shared.roles import managers
from shared.runtime import ConsumerSpec
from shared.tenancy import agency_policy_ddl

REASON_HEADER = "Waypoint-Access-Reason"
#: why someone off the caseload opens a record; ``other`` needs the free text to say it
REASON_KINDS = ("covering", "emergency", "supervision", "quality-review", "other")
MIN_REASON_TEXT = 10
MAX_REASON_TEXT = 300
#: roles that open every record of their agency without a reason
WHOLE_AGENCY = ("supervisor",)
#: roles held to the caseload (a reason opens the rest)
CASELOAD_BOUND = ("specialist", "agency_admin")
REASON_FORMAT = (
    f"'{REASON_HEADER}: <kind>: <text>', kind one of {', '.join(REASON_KINDS)}, text {MIN_REASON_TEXT} to"
    f" {MAX_REASON_TEXT} characters (non-ASCII as percent-encoded UTF-8)"
)
_KIND = re.compile(r"\s*([a-z-]{1,32})\s*:(.*)", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _reason_problem() -> dict[str, Any]:
    return {"reason_header": REASON_HEADER, "reason_kinds": list(REASON_KINDS), "min_reason_length": MIN_REASON_TEXT,
            "max_reason_length": MAX_REASON_TEXT}


class BreakTheGlassRequired(DomainError):
    """A record outside the caller's caseload, asked for without a reason (403)."""

    status = 403
    code = "break-the-glass-required"

    @property
    def problem_extra(self) -> dict[str, Any]:
        return _reason_problem()


class InvalidAccessReason(InvalidCommand):
    """The reason header is there but is not a reason (422)."""

    code = "access-reason-invalid"

    @property
    def problem_extra(self) -> dict[str, Any]:
        return _reason_problem()


class AssignmentNotKnown(NotFound):
    """This service does not know the participant's assignment (yet): closed (404)."""

    code = "assignment-not-known"


@dataclass(frozen=True)
class AccessReason:
    kind: str
    text: str


def parse_reason(raw: str | None) -> AccessReason | None:
    """The reason in the header's value (None when absent); InvalidAccessReason when malformed."""
    if raw is None:
        return None
    match = _KIND.fullmatch(raw)
    if match is None or match.group(1) not in REASON_KINDS:
        raise InvalidAccessReason(f"expected {REASON_FORMAT}", field=REASON_HEADER)
    try:
        text = unquote(match.group(2), errors="strict").strip()
    except UnicodeDecodeError:
        raise InvalidAccessReason("the text is not UTF-8 once percent-decoded", field=REASON_HEADER) from None
    if _CONTROL.search(text):
        raise InvalidAccessReason("the text may not contain control characters", field=REASON_HEADER)
    if not MIN_REASON_TEXT <= len(text) <= MAX_REASON_TEXT:
        raise InvalidAccessReason(
            f"say why in {MIN_REASON_TEXT} to {MAX_REASON_TEXT} characters (got {len(text)})", field=REASON_HEADER
        )
    return AccessReason(match.group(1), text)


@dataclass(frozen=True)
class Assignment:
    """What this service knows of a participant's assignment: their specialist (None: nobody's
    caseload, e.g. waiting in the assignment queue)."""

    specialist_id: str | None


#: the decisions of :func:`decide`
OPEN, GLASS = "open", "glass"


def needs_caseload(caller: Principal) -> bool:
    """Whether the caseload (or a reason) decides this caller's access to this participant."""
    if caller.has_any(*WHOLE_AGENCY):
        return False
    if caller.has_any(*CASELOAD_BOUND):
        return True
    # The participant themselves, an integration: not on any caseload; the routes' own rules
    # (a participant sees only their own data) apply to them.
    return False


def decide(caller: Principal, assignment: Assignment | None, reason: AccessReason | None) -> str:
    """OPEN or GLASS for a caller bound to the caseload, or the refusal (pure: no I/O)."""
    if assignment is None:
        raise AssignmentNotKnown(
            "this participant is not known here, or their enrolment has not reached this service yet"
            " (it takes moments): try again shortly",
            field="participant_id",
        )
    if assignment.specialist_id is not None and assignment.specialist_id == caller.sub:
        return OPEN
    if reason is None:
        raise BreakTheGlassRequired(
            "this participant is not on your caseload: give a reason to open the record (it is recorded"
            f" and shown to your supervisor), as {REASON_FORMAT}"
        )
    return GLASS


async def assignment_of(conn: Any, participant_id: UUID, agency_id: str) -> Assignment | None:
    row = await conn.fetchrow(
        "SELECT specialist_id FROM caseload_assignments WHERE participant_id = $1 AND agency_id = $2",
        participant_id,
        agency_id,
    )
    return None if row is None else Assignment(row["specialist_id"])


async def enforce(request: Request, caller: Principal, participant_id: UUID) -> bool:
    """Apply the policy to one read of ``participant_id``'s record by ``caller``; True when the
    glass was broken (the access is then already in the access log, flagged, with its reason)."""
    reason = parse_reason(request.headers.get(REASON_HEADER))  # a malformed one is refused whoever asks
    if not needs_caseload(caller):
        return False
    pool = request.app.state.runtime.pool
    if decide(caller, await assignment_of(pool, participant_id, caller.agency_id), reason) == OPEN:
        return False
    assert reason is not None
    route = getattr(request.scope.get("route"), "path", request.url.path)
    await access_audit.record_broken_glass(
        pool, agency_id=caller.agency_id, actor=caller.sub, action=f"broke the glass: {request.method} {route}",
        participant_id=participant_id, reason_kind=reason.kind, reason=reason.text,
    )
    request.state.broke_glass = reason
    return True


Dependency = Callable[..., Awaitable[Principal]]


def record_reader(base: Dependency) -> Dependency:
    """FastAPI dependency for a route reading ``{participant_id}``'s record: ``base`` (the route's
    role dependency) first, then the minimum-necessary policy. Returns the caller."""

    async def dependency(
        participant_id: UUID,
        request: Request,
        caller: Principal = Depends(base),
        _reason: str | None = Header(
            None, alias=REASON_HEADER, max_length=512,
            description=f"break the glass: why a record outside your caseload is opened, {REASON_FORMAT}",
        ),
    ) -> Principal:
        await enforce(request, caller, participant_id)
        return caller

    return dependency


# --- the projection of assignments (planning, monitoring, notifications) -------------------------

ASSIGNMENTS_DDL: tuple[str, ...] = (
    """
    CREATE TABLE caseload_assignments (
        participant_id  UUID PRIMARY KEY,
        agency_id       TEXT        NOT NULL,
        specialist_id   TEXT,
        as_of           TIMESTAMPTZ NOT NULL
    )
    """,
    *agency_policy_ddl("caseload_assignments"),
)
ASSIGNMENT_EVENTS = frozenset({"ParticipantEnrolled", "SpecialistAssigned", "SpecialistUnassigned"})


def create_assignments() -> None:
    """Create the ``caseload_assignments`` projection, with row-level security (in a migration)."""
    from alembic import op

    for statement in ASSIGNMENTS_DDL:
        op.execute(statement)


async def apply_assignment(received: ReceivedEvent, uow: Any) -> None:
    """Consumer handler: fold intake's assignment events into ``caseload_assignments`` (an older
    event never overwrites a newer one)."""
    if received.event_type not in ASSIGNMENT_EVENTS or received.participant_id is None:
        return
    specialist = None if received.event_type == "SpecialistUnassigned" else received.data.get("specialist_id")
    await upsert_assignment(uow.conn, received.participant_id, received.agency_id,
                            None if specialist is None else str(specialist), received.occurred_at)


def assignment_consumer() -> ConsumerSpec:
    """The consumer group (``assignments``) that keeps this service's ``caseload_assignments``."""
    return ConsumerSpec("assignments", [topic_for("intake")], apply_assignment, event_types=ASSIGNMENT_EVENTS)


async def upsert_assignment(
    conn: asyncpg.Connection, participant_id: UUID, agency_id: str, specialist_id: str | None, as_of: datetime
) -> None:
    await conn.execute(
        "INSERT INTO caseload_assignments (participant_id, agency_id, specialist_id, as_of) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (participant_id) DO UPDATE SET specialist_id = excluded.specialist_id, as_of = excluded.as_of"
        " WHERE caseload_assignments.as_of <= excluded.as_of",
        participant_id,
        agency_id,
        specialist_id,
        as_of,
    )


# --- the supervisors' list of flagged accesses ----------------------------------------------------

#: every service includes it among its routers
router = APIRouter(prefix="/v1", tags=["access"])


@router.get("/flagged-accesses")
async def flagged_accesses(
    request: Request,
    since: datetime | None = Query(None, description="only accesses at or after this instant (ISO 8601, with zone)"),
    actor: str | None = Query(None, max_length=255, description="only this staff member's (token sub)"),
    participant_id: UUID | None = Query(None, description="only accesses to this participant's record"),
    paged: Page = Depends(page),
    caller: Principal = Depends(managers),
) -> dict[str, Any]:
    """Records opened by breaking the glass in this service, newest first, with who, whose, which
    route, when and why (supervisors and agency admins)."""
    if since is not None and since.tzinfo is None:
        raise InvalidCommand("since needs a time zone, e.g. 2026-03-02T09:00:00Z", field="since")
    rt = request.app.state.runtime
    found, next_offset = paged.cut(await access_audit.flagged(
        rt.pool, agency_id=caller.agency_id, since=since, actor=actor, participant_id=participant_id,
        limit=paged.fetch, offset=paged.offset,
    ))
    if found:  # reading who looked at whom is itself an access: recorded, naming no one participant
        await access_audit.record(rt.pool, agency_id=caller.agency_id, actor=caller.sub,
                                  action="list flagged accesses", participant_ids=[None])
    return {"service": rt.settings.service, "flagged_accesses": found, "next_offset": next_offset}

