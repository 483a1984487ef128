from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from services.monitoring.adapters import snapshots
from services.monitoring.domain.commands import DetectMissedCheckIns, ReportRelapse
from services.monitoring.domain.monitor_state import MonitorState
from services.monitoring.domain.participant_monitor import (
    decide_detect_missed_check_ins,
    decide_record_check_in,
    decide_report_relapse,
)

from .helpers import DAY, PARTICIPANT, SECOND, T0, check_in, every, given, started, then_apply

pytestmark = pytest.mark.unit


def test_a_snapshot_gives_back_the_same_state() -> None:
    state = given(started(risk="moderate"), every(5 * SECOND, 2 * SECOND))
    state = then_apply(
        state, decide_detect_missed_check_ins(state, DetectMissedCheckIns(participant_id=PARTICIPANT), T0 + 20 * SECOND)
    )
    state = then_apply(state, decide_record_check_in(state, check_in(craving=7), T0 + 21 * SECOND))
    relapse = ReportRelapse(participant_id=PARTICIPANT, relapse_id=PARTICIPANT, relapsed_on=date(2026, 3, 1))
    state = then_apply(state, decide_report_relapse(state, relapse, T0 + DAY))
    assert snapshots.from_json(snapshots.to_json(state)) == state


def test_the_initial_state_round_trips() -> None:
    assert snapshots.from_json(snapshots.to_json(MonitorState())) == MonitorState()


def test_a_snapshot_of_another_format_is_ignored() -> None:
    data = json.loads(snapshots.to_json(given(started(), every(timedelta(hours=1))))) | {"format": 0}
    assert snapshots.from_json(json.dumps(data)) is None
    assert snapshots.from_json(None) is None
