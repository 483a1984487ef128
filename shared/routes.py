"""One route shape for every service: what a route needs, in one typed parameter.

A route names the people allowed to call it by the parameter's type and gets a :class:`Call`
(the verified caller, their agency, the runtime, the access audit, the request)::

    @router.post("/participants/{participant_id}/contacts", status_code=201)
    async def log_contact(participant_id: UUID, body: ContactReport, call: StaffCall) -> Json:
        cmd = LogContact(participant_id=participant_id, ...)
        return {"contact_id": str(await call.run(handlers.log_contact, cmd))}

    @router.get("/participants/{participant_id}/consents")
    async def list_consents(participant_id: UUID, call: StaffCall) -> Json:
        found = views.consents(call.pool, call.agency_id, participant_id)
        return {"consents": await call.shown("list consents", participant_id, found)}

The aliases (``StaffCall``, ``ManagerCall``...) are FastAPI ``Annotated`` dependencies over the
role sets of :mod:`shared.roles`: a request without a valid token is 401, one without the role 403,
before the route runs. ``SelfOrStaffCall`` also lets a participant act on their own record (token
``sub`` = the path's ``participant_id``). Commands go through :meth:`Call.run` (one unit of work
carrying the caller's agency, their ``sub`` as actor and the request's correlation id); reads use
:attr:`Call.pool` with :attr:`Call.agency_id`, or :meth:`Call.uow` for a read inside a transaction,
and record what they showed with :meth:`Call.shown` (one participant's view) or :meth:`Call.audit`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import asyncpg
from fastapi import Depends, Request

from shared import access_audit, roles
from shared.access_audit import AccessAudit
from shared.auth import AuthError, Principal
from shared.http import principal
from shared.keyring import KeyRing
from shared.minimum_necessary import record_reader
from shared.paging import Page
from shared.runtime import Runtime, command_metadata
from shared.uow import UnitOfWork

C = TypeVar("C")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One HTTP call of a verified person: who, for which agency, and the service's parts."""

    caller: Principal
    rt: Runtime
    request: Request

    @property
    def agency_id(self) -> str:
        return self.caller.agency_id

    @property
    def pool(self) -> asyncpg.Pool:
        return self.rt.pool

    @property
    def keys(self) -> KeyRing:
        """The service's key ring: opens the participants' sealed texts (``shared.keyring``)."""
        return self.rt.keys

    def now(self) -> datetime:
        """The service's time (its typed clock)."""
        return self.rt.clock()

    async def run(self, handle: Callable[[C, UnitOfWork], Awaitable[R]], command: C, *, attempts: int = 1) -> R:
        """``handle(command, uow)`` in one unit of work for the caller (see ``Runtime.run``)."""
        return await self.rt.run(handle, command, self.request, self.caller, attempts=attempts)

    def uow(self) -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work (one transaction) for the caller, for reads that must see one snapshot."""
        return self.rt.uow(command_metadata(self.request, self.caller), agency_id=self.agency_id)

    async def audit(self, action: str, *participant_ids: UUID | None, conn: asyncpg.Connection | None = None) -> None:
        """Record that the caller was shown these participants' data (``shared.access_audit``);
        ``conn``: inside that transaction, with the read it audits."""
        await AccessAudit(self.pool, self.caller)(action, *participant_ids, conn=conn)

    async def shown(self, action: str, participant_id: UUID, read: Awaitable[T]) -> T:
        """The result of ``read`` (a view of one participant's data), recorded as shown to the
        caller once it is read (a read that fails, e.g. 404, records nothing)."""
        found = await read
        await self.audit(action, participant_id)
        return found

    async def listed(self, key: str, action: str, participant_id: UUID, paged: Page, read: Awaitable[list[T]]
                     ) -> dict[str, Any]:
        """One page of a participant's records (``read`` fetched ``paged.fetch`` of them), recorded
        as shown, answered as ``{key: [...], "next_offset": ...}``."""
        found, next_offset = paged.cut(await self.shown(action, participant_id, read))
        return {key: found, "next_offset": next_offset}

    async def access_log(self, participant_id: UUID, paged: Page) -> dict[str, Any]:
        """The ``GET /participants/{id}/access-log`` answer of every service: who read this
        participant's data here, newest first; reading a non-empty log is itself recorded."""
        entries, next_offset = paged.cut(await access_audit.read(
            self.pool, agency_id=self.agency_id, participant_id=participant_id, limit=paged.fetch,
            offset=paged.offset,
        ))
        if entries:
            await self.audit("read access log", participant_id)
        return {"participant_id": str(participant_id), "access_log": entries, "next_offset": next_offset}


def call_of(allowed: Callable[[Request], Awaitable[Principal]]) -> Callable[..., Awaitable[Call]]:
    """A FastAPI dependency giving a :class:`Call` for a caller that ``allowed`` accepts."""

    async def dependency(request: Request, caller: Principal = Depends(allowed)) -> Call:
        return Call(caller, request.app.state.runtime, request)

    return dependency


async def _self_or_staff(participant_id: UUID, caller: Principal = Depends(principal)) -> Principal:
    """Staff of the agency, or the participant acting for themselves (token ``sub`` = participant id)."""
    if caller.has_any(*roles.STAFF) or (caller.has_any("participant") and caller.sub == str(participant_id)):
        return caller
    raise AuthError("only the participant themselves or their agency's staff", status=403)


#: any verified person of the agency (the route decides further)
AnyCall = Annotated[Call, Depends(call_of(principal))]
StaffCall = Annotated[Call, Depends(call_of(roles.staff))]
ManagerCall = Annotated[Call, Depends(call_of(roles.managers))]
AdminCall = Annotated[Call, Depends(call_of(roles.agency_admin))]
IntegrationCall = Annotated[Call, Depends(call_of(roles.integration))]
StaffOrIntegrationCall = Annotated[Call, Depends(call_of(roles.staff_or_integration))]
AdminOrIntegrationCall = Annotated[Call, Depends(call_of(roles.admin_or_integration))]
StaffOrParticipantCall = Annotated[Call, Depends(call_of(roles.staff_or_participant))]
ReaderCall = Annotated[Call, Depends(call_of(roles.readers))]
#: staff, or the participant of the path's ``participant_id`` themselves
SelfOrStaffCall = Annotated[Call, Depends(call_of(_self_or_staff))]

# A participant's full record, held to minimum necessary (shared.minimum_necessary): after the role
# check, a specialist or agency admin off the participant's caseload needs a reason
# (Waypoint-Access-Reason), and the access is then flagged in the access log; a supervisor opens
# any record of the agency; a participant their own, an integration as before.
StaffRecordCall = Annotated[Call, Depends(call_of(record_reader(roles.staff)))]
StaffOrIntegrationRecordCall = Annotated[Call, Depends(call_of(record_reader(roles.staff_or_integration)))]
ReaderRecordCall = Annotated[Call, Depends(call_of(record_reader(roles.readers)))]
SelfOrStaffRecordCall = Annotated[Call, Depends(call_of(record_reader(_self_or_staff)))]
