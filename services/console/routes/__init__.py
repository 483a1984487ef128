"""The console's pages, one module per area."""

from services.console.routes import actions, alerts, assessments, auth, caseload, me, participant, plan

ROUTERS = [auth.router, caseload.router, participant.router, assessments.router, plan.router, alerts.router,
           actions.router, me.router]
