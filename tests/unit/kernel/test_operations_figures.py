"""The operations figures' pure parts: what counts as a problem, and the probes' SQL."""

import pytest

from shared.operations import THRESHOLDS, Probe, problems, publish

pytestmark = pytest.mark.unit


def _status(**changes):
    status = {
        "service": "monitoring", "kafka": True, "relay_leader": True,
        "outbox": {"rows": 0, "oldest_age_s": 0.0, "quarantined": 0},
        "consumers": [{"group": "g", "topic": "t", "lag": 0, "partitions": {0: 0}}],
        "dlq": {"topic": "waypoint.monitoring.dlq", "depth": 0, "records": 0},
        "sweeps": [{"name": "missed-check-ins", "age_s": 0.0}], "queues": [{"name": "deliveries", "age_s": 0.0}],
        "set_aside": [],
    }
    status.update(changes)
    return status


def test_a_healthy_service_has_no_problem():
    assert problems(_status()) == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"kafka": False}, "Kafka is not reachable"),
    ({"relay_leader": False}, "no outbox relay leads"),
    ({"outbox": {"rows": 3, "oldest_age_s": THRESHOLDS["outbox_oldest_age_s"] + 1, "quarantined": 0}},
     "oldest outbox row waits 61s"),
    ({"outbox": {"rows": 0, "oldest_age_s": 0.0, "quarantined": 2}}, "2 outbox rows quarantined"),
    ({"consumers": [{"group": "g", "topic": "t", "lag": 1001, "partitions": {0: 1001}}]}, "g lags 1001 records on t"),
    ({"dlq": {"topic": "waypoint.monitoring.dlq", "depth": 4, "records": 9}}, "4 records on waypoint.monitoring.dlq"),
    ({"sweeps": [{"name": "milestones", "age_s": 301.0}]}, "sweep milestones is 301s late"),
    ({"queues": [{"name": "deliveries", "age_s": 400.0}]}, "queue deliveries has items waiting 400s"),
    ({"set_aside": [{"loop": "notifications.escalations", "rows": 1}]},
     "1 rows set aside by notifications.escalations"),
])
def test_each_figure_past_its_threshold_is_a_problem(changes, expected):
    assert problems(_status(**changes)) == [expected]


def test_figures_at_their_thresholds_are_not_yet_problems():
    status = _status(outbox={"rows": 1, "oldest_age_s": THRESHOLDS["outbox_oldest_age_s"], "quarantined": 0},
                     consumers=[{"group": "g", "topic": "t", "lag": THRESHOLDS["consumer_lag"], "partitions": {}}],
                     sweeps=[{"name": "s", "age_s": THRESHOLDS["sweep_lateness_s"]}])
    assert problems(status) == []


def test_a_probe_leaves_set_aside_rows_out_only_when_the_table_exists():
    probe = Probe("escalations", "sweep", "alerts", "acknowledge_by", where="acknowledged_at IS NULL",
                  loop="notifications.escalations", key="alert_id")
    plain = probe.sql(set_aside_table=False)
    assert "acknowledge_by <= now() AND (acknowledged_at IS NULL)" in plain and "set_aside" not in plain
    guarded = probe.sql(set_aside_table=True)
    assert "sa.loop = 'notifications.escalations' AND sa.row_key = (alert_id)::text" in guarded


def test_publish_sets_a_loop_emptied_by_the_operator_back_to_zero():
    from prometheus_client import REGISTRY

    publish(_status(service="unit-ops", set_aside=[{"loop": "l1", "rows": 2}]), is_leader=True)
    assert REGISTRY.get_sample_value("waypoint_set_aside_rows", {"service": "unit-ops", "loop": "l1"}) == 2
    publish(_status(service="unit-ops", set_aside=[]), is_leader=True)
    assert REGISTRY.get_sample_value("waypoint_set_aside_rows", {"service": "unit-ops", "loop": "l1"}) == 0
    assert REGISTRY.get_sample_value("waypoint_relay_leader", {"service": "unit-ops"}) == 1
