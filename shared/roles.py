"""Who may call what: the role sets every service's routes use, defined once.

Each is a FastAPI dependency returning the verified :class:`shared.auth.Principal` (401 without a
valid token, 403 without one of the roles). A participant's own access (token ``sub`` = their id)
is checked by the route on top of ``staff_or_participant`` / ``readers``.
"""

from __future__ import annotations

from shared.http import require_roles

#: the agency's people who work with participants
STAFF = ("specialist", "supervisor", "agency_admin")

staff = require_roles(*STAFF)
#: supervisors and agency admins: whole-agency views, access logs, the ladder's top
managers = require_roles("supervisor", "agency_admin")
agency_admin = require_roles("agency_admin")
#: partner systems acting for the agency
integration = require_roles("integration")
staff_or_integration = require_roles(*STAFF, "integration")
admin_or_integration = require_roles("agency_admin", "integration")
staff_or_participant = require_roles(*STAFF, "participant")
#: everyone of the agency who may read a participant's plan (a participant: only their own)
readers = require_roles(*STAFF, "integration", "participant")
