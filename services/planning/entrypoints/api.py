"""Planning HTTP API: the plan (current, past versions, history, FHIR), its edits and education,
and the access log of who read a participant's plan.

Handlers only translate HTTP into commands and views; the rules live in the domain. Every read
that shows a participant's plan is recorded in the access audit (``shared.access_audit``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from services.planning import views
from services.planning.adapters.fhir import plan_bundle
from services.planning.application import handlers
from services.planning.domain.commands import (
    DraftPlan,
    RevisePlan,
)
from services.planning.domain.sections import SectionsPatch
from shared.auth import Principal
from shared.catalogue.planning import PlanStatus
from shared.domain import DomainError, InvalidCommand, NotFound
from shared.limits import MAX_VERSION
from shared.paging import Page, page
from shared.routes import Call, ManagerCall, ReaderRecordCall, StaffCall
from shared.uow import UnitOfWork

router = APIRouter(prefix="/v1", tags=["planning"])
C = TypeVar("C", bound=BaseModel)


class PlanCommand(Protocol):
    @property
    def participant_id(self) -> UUID: ...


PC = TypeVar("PC", bound=PlanCommand)
WRITE_ATTEMPTS = 3


class PreconditionRequired(DomainError):
    status = 428
    code = "if-match-required"


class PlanDraftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sections: SectionsPatch = SectionsPatch()


class PlanRevisionBody(BaseModel):
    """Sections to replace (others stay), a new status, and/or the sign-off of open reviews."""

    model_config = ConfigDict(extra="forbid")
    sections: SectionsPatch = SectionsPatch()
    status: PlanStatus | None = None
    review_completed: bool = False


def command_from(cls: type[C], **values: Any) -> C:
    """Build a command from request parts, turning its validation errors into a 422 problem."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidCommand(first["msg"], field=".".join(str(p) for p in first["loc"])) from None


def check_readable(caller: Principal, participant_id: UUID) -> None:
    # A participant sees only their own plan; anyone else's looks like no plan at all.
    if not caller.has_any("specialist", "supervisor", "agency_admin", "integration") and caller.sub != str(
        participant_id
    ):
        raise NotFound("no plan for this participant", field="participant_id")


_VERSION_TAG = re.compile(r"[0-9]{1,10}")  # ASCII digits only: str.isdigit() also accepts "²"


def _expected_version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequired("send If-Match with the plan version this edit is based on", field="If-Match")
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not _VERSION_TAG.fullmatch(tag) or not 1 <= int(tag) <= MAX_VERSION:
        raise InvalidCommand(f'If-Match must be a plan version such as "3", not {if_match!r}', field="If-Match")
    return int(tag)


async def edit_plan(
    call: Call, handle: Callable[[PC, UnitOfWork], Awaitable[None]], command: PC, shown_as: str, status_code: int = 200
) -> JSONResponse:
    """Run an edit of the plan, then answer with the plan it made.

    The plan's stream also takes events that make no plan version (review requests, risk notes), so a
    lost race does not mean the caller's version is stale: the decision is simply taken again on the
    fresh stream, where a really stale ``If-Match`` is a 412 and a second draft a 409. The answer
    shows the plan's content, so it is an audited read (``shown_as``).
    """
    await call.run(handle, command, attempts=WRITE_ATTEMPTS)
    plan = await views.current_plan(call.pool, command.participant_id, call.agency_id, call.keys)
    body = with_etag(plan, status_code)
    await call.audit(shown_as, command.participant_id)
    return body


def with_etag(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers={"ETag": f'"{body["version"]}"'})


@router.get("/participants/{participant_id}/plan")
async def get_plan(
    participant_id: UUID,
    call: ReaderRecordCall,
    version: int | None = Query(None, ge=1, le=MAX_VERSION, description="a past version number"),
    as_of: datetime | None = Query(None, description="the version in force at this instant (ISO 8601, with zone)"),
) -> JSONResponse:
    check_readable(call.caller, participant_id)
    if version is not None and as_of is not None:
        raise InvalidCommand("ask for either a version or an as_of instant, not both", field="as_of")
    if as_of is not None:
        if as_of.tzinfo is None:
            raise InvalidCommand("as_of needs a time zone, e.g. 2026-03-02T09:00:00Z", field="as_of")
        record = await views.plan_as_of(call.pool, participant_id, call.agency_id, as_of, call.keys)
        await call.audit("read plan as of date", participant_id)
        return with_etag(await views.erasure_marked(call.pool, call.keys, participant_id, views.version_view(record)))
    if version is not None:
        record = await views.plan_version(call.pool, participant_id, call.agency_id, version, call.keys)
        await call.audit("read plan version", participant_id)
        return with_etag(await views.erasure_marked(call.pool, call.keys, participant_id, views.version_view(record)))
    plan = await views.current_plan(call.pool, participant_id, call.agency_id, call.keys)
    await call.audit("read plan", participant_id)
    return with_etag(plan)


@router.post("/participants/{participant_id}/plan", status_code=201)
async def draft_plan(participant_id: UUID, body: PlanDraftBody, call: StaffCall) -> JSONResponse:
    command = command_from(DraftPlan, participant_id=participant_id, sections=body.sections, drafted_by=call.caller.sub)
    return await edit_plan(call, handlers.draft_plan, command, "plan shown after drafting", 201)


@router.put("/participants/{participant_id}/plan")
async def revise_plan(
    participant_id: UUID,
    body: PlanRevisionBody,
    call: StaffCall,
    if_match: str | None = Header(None, alias="If-Match"),
) -> JSONResponse:
    command = command_from(
        RevisePlan,
        participant_id=participant_id,
        expected_version=_expected_version(if_match),
        sections=body.sections,
        status=body.status,
        review_completed=body.review_completed,
        changed_by=call.caller.sub,
    )
    return await edit_plan(call, handlers.revise_plan, command, "plan shown after revising")


@router.get("/participants/{participant_id}/plan/history")
async def plan_history(participant_id: UUID, call: ReaderRecordCall, paged: Page = Depends(page)) -> dict[str, Any]:
    """The plan's versions, oldest first, paged (``next_offset``)."""
    check_readable(call.caller, participant_id)
    entries, next_offset = paged.cut(
        await views.history(call.pool, participant_id, call.agency_id, limit=paged.fetch, offset=paged.offset)
    )
    await call.audit("read plan history", participant_id)
    return {"participant_id": str(participant_id), "versions": entries, "next_offset": next_offset}


@router.get("/participants/{participant_id}/plan/fhir", response_class=Response)
async def plan_as_fhir(
    participant_id: UUID, call: ReaderRecordCall, version: int | None = Query(None, ge=1, le=MAX_VERSION)
) -> JSONResponse:
    """The plan (current, or a past ``version``) as a FHIR R4 Bundle with a CarePlan and its Goals."""
    check_readable(call.caller, participant_id)
    if version is None:
        record = await views.latest_version(call.pool, participant_id, call.agency_id, call.keys)
    else:
        record = await views.plan_version(call.pool, participant_id, call.agency_id, version, call.keys)
    bundle = plan_bundle(record.participant_id, record.plan_id, record.version, record.document, record.recorded_at)
    await call.audit("export plan (FHIR)", participant_id)
    return JSONResponse(bundle, media_type="application/fhir+json")


@router.get("/participants/{participant_id}/access-log")
async def get_access_log(participant_id: UUID, call: ManagerCall, paged: Page = Depends(page)) -> dict[str, Any]:
    """Who read this participant's plan in planning, newest first (supervisors and agency admins)."""
    return await call.access_log(participant_id, paged)
