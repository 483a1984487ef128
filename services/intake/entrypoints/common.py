"""What every intake route shares: JSON responses (roles come from ``shared.roles``)."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

