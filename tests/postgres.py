"""A throwaway PostgreSQL server for the tests: Debian's server binaries, a cluster in a temporary directory on a
free port of 127.0.0.1, one per test process (each xdist worker starts its own), with a template database
migrated once by `flask db upgrade` that every test clones (CREATE DATABASE … TEMPLATE: a file copy, far
cheaper than migrating).

PostgreSQL refuses to run as root, so under root the cluster belongs to an unprivileged account and its programs
run as that account.
"""
from __future__ import annotations

import ctypes
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "courseport_template"
SUPERUSER = "courseport"
START_TIMEOUT = 30
PREFIX = "courseport-pg-"
STALE_AFTER = 600  # seconds: a cluster directory this old with no server running was left by a killed run
# Parametrizes the `database_url` fixture (so `app` and `live_server`) over SQLite and PostgreSQL.
BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True)
# For a test that watches SQLite itself (its trace callback), even under COURSEPORT_TEST_DATABASE=postgresql.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# Durability is worthless for a cluster deleted at the end of the run.
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "32MB",
            "max_connections": "200", "listen_addresses": "127.0.0.1", "log_min_messages": "warning"}


def _bin_dir() -> Path:
    """COURSEPORT_PG_BIN, or the newest of Debian's /usr/lib/postgresql/<version>/bin."""
    if os.environ.get("COURSEPORT_PG_BIN"):
        return Path(os.environ["COURSEPORT_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("No PostgreSQL server binaries: install Debian's postgresql package "
                           "(scripts/test.sh does) or set COURSEPORT_PG_BIN to the directory holding initdb")
    return Path(found[-1]).parent


def _run_as() -> str | None:
    """The unprivileged account to run the server as when the tests run as root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("Running as root and no 'postgres' or 'nobody' account to run PostgreSQL as")


def _stop_with_parent() -> None:
    """In the server's process before exec: SIGINT (a fast shutdown) when the test process dies, however it dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def _remove_stale() -> None:
    """Clusters of test runs that were killed: their server stopped with them, their directory stayed."""
    for path in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            stale = time.time() - path.stat().st_mtime > STALE_AFTER
        except FileNotFoundError:
            continue
        if stale and not (path / "data" / "postmaster.pid").exists():
            shutil.rmtree(path, ignore_errors=True)


class PostgresServer:
    """One cluster: start(), then template/clone/drop databases, then stop()."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.user = _run_as()
        _remove_stale()
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX))
        self.data = self.dir / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        self._process: subprocess.Popen | None = None
        self.version = 0  # the server's, as 150004 for 15.4

    def _as_owner(self) -> dict:
        return {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid} if self.user else {}

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> "PostgresServer":
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                        "--encoding=UTF8", "--locale=C", "--no-sync"],
                       check=True, capture_output=True, text=True, **self._as_owner())
        options = [arg for name, value in SETTINGS.items() for arg in ("-c", f"{name}={value}")]
        # The postmaster itself is our child (no pg_ctl daemon), so a test run that is killed takes it along.
        with open(self.dir / "server.log", "wb") as log:
            self._process = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-c", f"unix_socket_directories={self.dir}", *options],
                stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_stop_with_parent, **self._as_owner())
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=2) as connection:
                    self.version = connection.info.server_version
                break
            except psycopg.OperationalError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    log = (self.dir / "server.log").read_text(errors="replace")
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.05)
        return self

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def _admin(self, statement: sql.Composable) -> None:
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(statement)

    def migrate_template(self) -> None:
        """The template database, brought to the migrations' head by the real command."""
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
        env = {**os.environ, "DATABASE_URL": self.url(TEMPLATE),
               "COURSEPORT_INSTANCE_PATH": str(self.dir / "instance")}
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], env=env,
                                cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"flask db upgrade on PostgreSQL failed:\n{result.stderr}")

    def create_database(self, template: str | None = TEMPLATE) -> str:
        """A new database (a copy of the migrated template, or empty with template=None); returns its name."""
        name = f"test_{next(self._names)}"
        clone = sql.SQL(" TEMPLATE {}").format(sql.Identifier(template)) if template else sql.SQL("")
        if template and self.version >= 150000:
            clone += sql.SQL(" STRATEGY FILE_COPY")  # copies the files: three times faster for a small database
        self._admin(sql.SQL("CREATE DATABASE {}{}").format(sql.Identifier(name), clone))
        return name

    def drop_database(self, name: str) -> None:
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)  # "fast" shutdown: open sessions are ended
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
