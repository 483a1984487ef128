"""What every intake route shares: roles and JSON responses."""

from __future__ import annotations

from typing import Any

from shared.http import require_roles

staff = require_roles("specialist", "supervisor", "agency_admin")
auditors = require_roles("supervisor", "agency_admin")
staff_or_integration = require_roles("specialist", "supervisor", "agency_admin", "integration")
Json = dict[str, Any]

