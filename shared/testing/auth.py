"""Development tokens for tests."""

from __future__ import annotations

from shared.auth import issue_token
from shared.settings import ServiceSettings

DEV_SECRET = ServiceSettings.model_fields["jwt_secret"].default


def bearer(sub: str = "specialist-1", agency_id: str = "agency-a", roles: tuple[str, ...] = ("specialist",),
           secret: str = DEV_SECRET) -> dict[str, str]:
    """An ``Authorization`` header for a caller with ``roles`` in ``agency_id``."""
    token = issue_token(secret, sub=sub, agency_id=agency_id, roles=list(roles))
    return {"Authorization": f"Bearer {token}"}
