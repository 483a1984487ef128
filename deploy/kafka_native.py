"""Run Apache Kafka 4.x (KRaft, combined broker+controller nodes) on the local JDK: one node, or a
three-node cluster (:class:`NativeKafkaCluster`) from the same jars.

No Docker needed: the broker jars are resolved from Maven Central with ``deploy/kafka/pom.xml``
into a per-version cache dir, the storage is formatted on first start, and the broker runs as a
background ``java`` process with a pid file and a log file under the given home directory.

Layout of ``home``::

    server.properties   generated on every start (ports may change between starts)
    data/               log.dirs + KRaft metadata log (survives stop/start)
    kafka.pid, kafka.log
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import uuid
from base64 import urlsafe_b64encode
from pathlib import Path

from deploy._util import (
    ensure_port_free,
    file_lock,
    find_process,
    port_is_open,
    read_pid,
    run_async,
    spawn_detached,
    stop_child,
    tail,
    terminate,
    wait_for_server,
)  # fmt: skip

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
_HERE = Path(__file__).resolve().parent
POM = _HERE / "kafka" / "pom.xml"
LOG4J_CONFIG = _HERE / "kafka" / "log4j2.properties"

# Same GC flags as Kafka's own kafka-run-class.sh, with a small heap: a dev broker holds
# almost no data, and two brokers plus PostgreSQL must fit on a laptop / CI runner.
JVM_OPTS = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    # C1 only: on a 2-core box the C2 compiler competes with startup for CPU; measured ~20%
    # faster start, and a dev broker never gets hot enough for C2 to matter.
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
]


def default_cache_dir(version: str = KAFKA_VERSION) -> Path:
    """``$WAYPOINT_KAFKA_CACHE`` or ``~/.cache/waypoint/kafka-<version>``."""
    if env := os.environ.get("WAYPOINT_KAFKA_CACHE"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "waypoint" / f"kafka-{version}"


def ensure_jars(version: str = KAFKA_VERSION, cache_dir: Path | None = None) -> Path:
    """Return the directory holding the Kafka runtime jars, fetching them with Maven if missing.

    The cache is keyed by the pom's content as well, so editing the pom refetches. Safe against
    concurrent callers (file lock + atomic rename of a temp dir).
    """
    cache_dir = cache_dir or default_cache_dir(version)
    libs, marker = cache_dir / "libs", cache_dir / ".complete"
    stamp = f"{version} {hashlib.sha256(POM.read_bytes()).hexdigest()}"
    if marker.exists() and marker.read_text() == stamp:
        return libs
    with file_lock(cache_dir.parent / f".{cache_dir.name}.lock"):
        if marker.exists() and marker.read_text() == stamp:
            return libs
        mvn = shutil.which("mvn")
        if not mvn:
            raise RuntimeError("Maven ('mvn') is required to fetch the Kafka jars but is not on PATH")
        tmp = cache_dir / f"libs.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={tmp}", f"-Dkafka.version={version}",
        ]  # fmt: skip
        log.info("fetching Kafka %s jars into %s", version, cache_dir)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not any(tmp.glob(f"kafka_2.13-{version}.jar")):
            raise RuntimeError(f"fetching Kafka jars failed ({' '.join(cmd)}):\n{proc.stdout}\n{proc.stderr}")
        marker.unlink(missing_ok=True)
        shutil.rmtree(libs, ignore_errors=True)
        tmp.rename(libs)
        marker.write_text(stamp)
    return libs


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise RuntimeError("a Java runtime (17+) is required to run Kafka natively; 'java' not found")
    return java


async def _probe(bootstrap: str) -> None:
    # Imported lazily so that `deploy` stays importable for tooling without the Kafka client.
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        info = await admin.describe_cluster()
        if not info.get("brokers"):
            raise RuntimeError("metadata lists no brokers yet")
    finally:
        await admin.close()


def _sasl_props(port: int, controller_port: int, sasl_port: int) -> dict[str, str]:
    """Broker settings of the SASL listener: SCRAM-SHA-512 authentication, the standard KRaft
    authorizer, no access without an ACL; localhost PLAINTEXT and the controller are ANONYMOUS
    super users (development), so services not yet on SASL keep working."""
    return {
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port},"
                     f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
    }


def _sasl_ssl_props(props: dict[str, str], sasl_ssl_port: int, keystore: Path) -> dict[str, str]:
    """``props`` (of the SASL listener) plus a SASL_SSL listener: the same SCRAM logins and ACLs,
    over TLS with the broker's PEM key and certificate chain (deploy/kafka_tls.py)."""
    listener = f"SASL_SSL://127.0.0.1:{sasl_ssl_port}"
    return props | {
        "listeners": f"{props['listeners']},{listener}",
        "advertised.listeners": f"{props['advertised.listeners']},{listener}",
        "listener.security.protocol.map": f"{props['listener.security.protocol.map']},SASL_SSL:SASL_SSL",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": str(keystore),
    }


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, never starting with
    "-" (the storage tool would read such an id as an option: one start in 64 failed so)."""
    while (cluster_id := urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return cluster_id


def probe(bootstrap: str) -> None:
    """Raise unless a Kafka broker at `bootstrap` answers a metadata request."""
    run_async(lambda: _probe(bootstrap))


class NativeKafka:
    """One Kafka broker+controller process whose state lives in `home`."""

    def __init__(
        self,
        home: Path,
        port: int = 9092,
        controller_port: int | None = None,
        num_partitions: int = 3,
        version: str = KAFKA_VERSION,
        cache_dir: Path | None = None,
        sasl_port: int | None = None,
        *,
        sasl_ssl_port: int | None = None,
        node_id: int = 1,
        quorum_voters: str | None = None,
        replication: int = 1,
        auto_create_topics: bool = False,
    ) -> None:
        self.home = Path(home).resolve()
        #: Off everywhere Waypoint runs (topics are created on purpose, with their settings); the
        #: test suite's single broker turns it on for the tests' scratch topics.
        self.auto_create_topics = auto_create_topics
        #: KRaft node id, the static quorum (``id@host:port,...``; this node alone by default) and
        #: the replication of internal topics and default min.insync.replicas (cluster: 3 and 2).
        self.node_id = node_id
        self.quorum_voters = quorum_voters
        self.replication = replication
        self.port = port
        self.controller_port = controller_port or port + 1
        self.num_partitions = num_partitions
        self.version = version
        self.cache_dir = cache_dir
        #: An extra SASL_PLAINTEXT listener (SCRAM-SHA-512) with ACLs enforced: see deploy/kafka_security.py.
        #: The PLAINTEXT listener (and the controller) stay open to localhost as super users.
        self.sasl_port = sasl_port
        #: Beside it (``sasl_port`` needed), a SASL_SSL listener: its CA is :attr:`tls_ca`.
        self.sasl_ssl_port = sasl_ssl_port
        self.data_dir = self.home / "data"
        self.config_file = self.home / "server.properties"
        self.pid_file = self.home / "kafka.pid"
        self.log_file = self.home / "kafka.log"

    @property
    def tls_ca(self) -> Path:
        """The CA file clients of the SASL_SSL listener trust (``KAFKA_SSL_CAFILE``)."""
        return self.home / "tls" / "ca.pem"

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""
        return f"127.0.0.1:{self.port}"

    def process(self):  # -> psutil.Process | None
        """The running broker process of this home, if any."""
        # The config path is on the java command line; it identifies *this* broker.
        return find_process(read_pid(self.pid_file), str(self.config_file))

    def is_running(self) -> bool:
        """True if the broker process of this home is alive (it may still be starting)."""
        return self.process() is not None

    def running_port(self) -> int | None:
        """Client port the running broker was configured with (from its server.properties)."""
        if not self.is_running():
            return None
        for line in self.config_file.read_text().splitlines():  # PLAINTEXT comes first
            if line.startswith("listeners="):
                return int(line.split(",")[0].rsplit(":", 1)[1])
        return None

    def _write_config(self) -> None:
        min_insync = 2 if self.replication >= 3 else 1
        # Static quorum (controller.quorum.voters) rather than `format --standalone`: the
        # single voter's endpoint then comes from this file instead of being frozen into the
        # metadata log, so the broker can be restarted on different ports with the same data.
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.quorum_voters or f"{self.node_id}@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": str(self.num_partitions),
            # Topics are created on purpose (the services' topic setup, with their partitions,
            # retention and min.insync.replicas), never by a typo in a producer or consumer.
            "auto.create.topics.enable": str(self.auto_create_topics).lower(),
            "default.replication.factor": str(self.replication),
            "min.insync.replicas": str(min_insync),
            "offsets.topic.replication.factor": str(self.replication),
            # 50 partitions (the default) makes the first consumer-group join noticeably slow.
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": str(self.replication),
            "transaction.state.log.min.isr": str(min_insync),
            "share.coordinator.state.topic.replication.factor": str(self.replication),
            "share.coordinator.state.topic.min.isr": str(min_insync),
            "group.initial.rebalance.delay.ms": "0",
            # After an unclean stop (SIGKILL) the restarted controller refuses the broker's new
            # registration until the old session expires (default 9 s): keep that window short, but not
            # so short that a CPU-starved shared box (several brokers on 2 cores) fences the broker.
            "broker.session.timeout.ms": "5000",
            "broker.heartbeat.interval.ms": "1000",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "2",
        }
        if self.sasl_port:
            props |= _sasl_props(self.port, self.controller_port, self.sasl_port)
            if self.sasl_ssl_port:
                from deploy.kafka_tls import broker_tls

                props = _sasl_ssl_props(props, self.sasl_ssl_port, broker_tls(self.home / "tls").keystore)
        self.config_file.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def _format_storage(self, classpath: str, cluster_id: str | None = None) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_id = cluster_id or new_cluster_id()
        cmd = [
            _java(), "-cp", classpath, f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "kafka.tools.StorageTool", "format", "--config", str(self.config_file),
            "--cluster-id", cluster_id, "--ignore-formatted",
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed:\n{proc.stdout}\n{proc.stderr}")

    def start(self, timeout: float = 120.0) -> bool:
        """Start the broker (formatting storage on first start) and wait until it answers.

        Returns False if it was already running (then only waits for readiness), True if started.
        Raises RuntimeError with the tail of the Kafka log if it does not come up in `timeout` s.
        """
        if self.is_running():
            if (running := self.running_port()) != self.port:
                raise RuntimeError(f"Kafka in {self.home} is already running on port {running}, not {self.port}")
            self.wait_ready(timeout)
            return False
        ensure_port_free("127.0.0.1", self.port, "Kafka")
        ensure_port_free("127.0.0.1", self.controller_port, "Kafka controller")
        proc = self.launch()
        try:
            self.wait_ready(timeout, child=proc)
        except BaseException:
            # Our own child: stop it by its handle. (Just after fork its command line may not yet
            # name the config file, so looking it up by pid file and marker could miss it.)
            stop_child(proc)
            self.stop()
            raise
        return True

    def launch(self, cluster_id: str | None = None) -> subprocess.Popen[bytes]:
        """Write the config, format the storage (first start), start the process; no waiting."""
        self.home.mkdir(parents=True, exist_ok=True)
        classpath = str(ensure_jars(self.version, self.cache_dir) / "*")
        self._write_config()
        self._format_storage(classpath, cluster_id)
        cmd = [
            _java(), *JVM_OPTS, f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp", classpath, "kafka.Kafka", str(self.config_file),
        ]  # fmt: skip
        return spawn_detached(cmd, what=f"Kafka {self.version}", log_file=self.log_file, pid_file=self.pid_file,
                              cwd=self.home)

    def wait_ready(self, timeout: float = 120.0, child: subprocess.Popen[bytes] | None = None) -> None:
        """Block until the broker answers a metadata request, or raise with the log tail."""
        last_error: list[Exception] = []

        def answers() -> bool:
            if not port_is_open("127.0.0.1", self.port):
                return False
            try:
                probe(self.bootstrap)
                return True
            except Exception as exc:  # not ready yet; remember why for the error message
                last_error[:] = [exc]
                return False

        wait_for_server(
            answers, alive=(lambda: child.poll() is None) if child is not None else self.is_running,
            timeout=timeout, interval=0.25,
            exited=lambda: f"Kafka process exited during startup. Last log lines:\n{tail(self.log_file)}",
            late=lambda: (f"Kafka at {self.bootstrap} did not answer within {timeout:.0f}s "
                          f"(last error: {last_error[0] if last_error else None!r}). "
                          f"Last lines of {self.log_file}:\n{tail(self.log_file)}"),
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the broker, SIGKILL after `timeout` s. Returns True if a process was stopped."""
        proc = self.process()
        if proc is not None:
            terminate(proc, timeout)
        self.pid_file.unlink(missing_ok=True)
        return proc is not None


def cluster_ports(first_port: int) -> list[tuple[int, int]]:
    """(client, controller) ports of a three-node cluster whose first broker listens on
    ``first_port``: first/first+1, first+3/first+4, first+5/first+6 (first+2 is left for the
    single broker's SASL listener, 9094 in development)."""
    return [(first_port, first_port + 1), (first_port + 3, first_port + 4), (first_port + 5, first_port + 6)]


class NativeKafkaCluster:
    """Three combined KRaft nodes (broker+controller) from the same jars, homes ``home/node<i>``:
    internal topics replicated 3 times, ``min.insync.replicas=2``, no topic auto-creation. Losing
    one node loses nothing written with acks=all and keeps the quorum."""

    def __init__(self, home: Path, ports: list[tuple[int, int]], version: str = KAFKA_VERSION,
                 cache_dir: Path | None = None, num_partitions: int = 3) -> None:
        self.home = Path(home).resolve()
        voters = ",".join(f"{i}@127.0.0.1:{controller}" for i, (_, controller) in enumerate(ports, start=1))
        self.nodes = [
            NativeKafka(self.home / f"node{i}", port=port, controller_port=controller, num_partitions=num_partitions,
                        version=version, cache_dir=cache_dir, node_id=i, quorum_voters=voters,
                        replication=min(3, len(ports)))
            for i, (port, controller) in enumerate(ports, start=1)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def _cluster_id(self) -> str:
        path = self.home / "cluster.id"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    def start(self, timeout: float = 180.0) -> bool:
        """Start the nodes not running (together: a KRaft quorum needs a majority to come up),
        then wait until each answers. Returns True if any node was started."""
        cluster_id = self._cluster_id()
        launched: list[tuple[NativeKafka, subprocess.Popen[bytes]]] = []
        for node in self.nodes:
            if node.is_running():
                continue
            ensure_port_free("127.0.0.1", node.port, "Kafka")
            ensure_port_free("127.0.0.1", node.controller_port, "Kafka controller")
            launched.append((node, node.launch(cluster_id)))
        try:
            for node in self.nodes:
                node.wait_ready(timeout, child=dict((id(n), p) for n, p in launched).get(id(node)))
        except BaseException:
            self.stop()
            raise
        return bool(launched)

    def start_node(self, index: int, timeout: float = 120.0) -> None:
        """Start node ``index`` (0-based) again after it was killed or stopped."""
        node = self.nodes[index]
        proc = node.launch(self._cluster_id())
        node.wait_ready(timeout, child=proc)

    def kill_node(self, index: int) -> int:
        """SIGKILL node ``index`` (0-based), as a crash would; returns its pid."""
        import signal

        proc = self.nodes[index].process()
        if proc is None:
            raise RuntimeError(f"Kafka node {index + 1} is not running")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        return proc.pid

    def is_running(self) -> bool:
        return any(node.is_running() for node in self.nodes)

    def stop(self, timeout: float = 30.0) -> bool:
        stopped = False
        for node in self.nodes:
            stopped |= node.stop(timeout)
        return stopped
