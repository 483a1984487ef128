"""Checking how many entries a list has before checking the entries themselves.

pydantic counts only the entries that validated, so a list with one bad entry also reported a
misleading "too short". Checking the count on the raw input first keeps each error truthful.
"""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError


def count_between(low: int, high: int) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, list | tuple) and not low <= len(value) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise PydanticCustomError(
                "wrong_item_count",
                "expected {expected} entries, got {actual}",
                {"expected": expected, "actual": len(value)},
            )
        return value

    return BeforeValidator(check)


def exactly(count: int) -> BeforeValidator:
    return count_between(count, count)
