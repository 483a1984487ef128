import sys
from pathlib import Path

import pytest

from shared.testing.services import package_service

_INTAKE_HELPERS = str(Path(__file__).resolve().parents[1] / "intake")
if _INTAKE_HELPERS not in sys.path:  # intake's Agency helper, under pytest's importlib import mode
    sys.path.insert(0, _INTAKE_HELPERS)


intake_service = package_service("intake")


@pytest.fixture(scope="module")
def sasl_broker():
    """A broker of its own with a SASL/SCRAM listener and ACLs enforced (ports from this suite's
    HTTP range), fresh for each module that uses it, stopped afterwards."""
    import shutil

    from deploy.kafka_native import NativeKafka

    from .feed_support import port

    state = Path(__file__).resolve().parents[3] / ".waypoint" / "test"
    kafka = NativeKafka(state / "kafka-sasl", port=port(81), controller_port=port(82), sasl_port=port(83),
                        sasl_ssl_port=port(84), num_partitions=3)
    if not kafka.is_running():
        shutil.rmtree(kafka.home, ignore_errors=True)  # a fresh cluster: no offsets or topics of earlier runs
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="module")
async def principals(sasl_broker):
    """What `waypoint up` provisions through the super-user listener: the service topics and
    DLQs, every principal with its ACLs (two agencies' integrators here). name -> password."""
    from deploy import kafka_security as sec
    from shared.settings import ServiceSettings

    from .feed_support import AGENCY_A, AGENCY_B

    creds = sec.Credentials(Path(sasl_broker.home) / "credentials.json")
    return await sec.provision(sasl_broker.bootstrap, creds, agencies=[AGENCY_A, AGENCY_B],
                               settings=ServiceSettings(kafka_partitions=3))
