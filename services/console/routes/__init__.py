"""The console's pages, one module per area."""

from services.console.routes import (
    actions,
    admin,
    alerts,
    assessments,
    auth,
    caseload,
    consents,
    erasure,
    glass,
    mailbox,
    me,
    operations,
    participant,
    plan,
    referrals,
    supervisor,
)

ROUTERS = [auth.router, caseload.router, participant.router, assessments.router, plan.router, alerts.router,
           actions.router, me.router, supervisor.router, admin.router,
           mailbox.router, consents.router, operations.router, referrals.router, glass.router,
           erasure.router]
