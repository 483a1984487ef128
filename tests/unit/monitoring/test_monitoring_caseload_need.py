from __future__ import annotations

from datetime import timedelta

import pytest

from services.monitoring.domain.caseload import need, ranking_key

from .helpers import DAY, T0

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # (risk, misses, days since last check-in, open alerts): first needs more attention
        (("critical", 0, 0, 0), ("high", 0, 0, 0)),
        (("high", 0, 0, 0), ("moderate", 0, 0, 0)),
        (("moderate", 2, 0, 0), ("high", 0, 0, 0)),
        (("low", 3, 0, 0), ("moderate", 0, 1, 0)),
        (("moderate", 0, 0, 2), ("moderate", 1, 0, 0)),
        (("moderate", 0, 10, 0), ("moderate", 0, 2, 0)),
    ],
)
def test_caseload_ranks_by_need(first: tuple, second: tuple) -> None:
    def score(risk: str, misses: int, days: int, alerts: int) -> int:
        return need(risk, misses, T0 - days * DAY, alerts, T0).score

    assert score(*first) > score(*second)


def test_need_states_its_reasons() -> None:
    result = need("high", 2, T0 - 3 * DAY, 1, T0)
    assert result.reasons == (
        "risk level high",
        "2 missed check-ins in a row",
        "1 open alert",
        "last check-in 3 days ago",
    )


def test_silence_counts_at_most_a_month() -> None:
    assert need("low", 0, T0 - 400 * DAY, 0, T0).score == need("low", 0, T0 - 30 * DAY, 0, T0).score


def test_equal_need_puts_the_longest_silence_first() -> None:
    same = need("moderate", 0, None, 0, T0)
    older, newer = T0 - timedelta(hours=5), T0 - timedelta(hours=1)
    assert ranking_key(same, older) < ranking_key(same, newer)
    assert ranking_key(same, None) < ranking_key(same, older)
