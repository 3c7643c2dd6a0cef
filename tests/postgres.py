"""A throwaway PostgreSQL server for tests marked `postgresql` and for the benchmarks' `--database postgresql`:
Debian's binaries, a data folder of its own, listening on a free port on 127.0.0.1 only. One server per test
process; one new database per test."""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.helpers import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def installed() -> bool:
    return (BIN / "initdb").exists()


def _as_server_user(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` account then."""
    if os.geteuid() != 0:
        return args
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{arg}'" for arg in args)]


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a server; yields its URL without a database name; stops it and deletes its data afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="courseport-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
    data = folder / "data"
    try:
        subprocess.run(_as_server_user([str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                        "-E", "UTF8"]), check=True, capture_output=True)
        for _attempt in range(3):  # another process may take the free port before the server binds it
            port = free_port()
            options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
            started = subprocess.run(_as_server_user([str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                                      str(folder / "server.log"), "-w", "start"]), capture_output=True)
            if started.returncode == 0:
                break
        else:
            raise RuntimeError("PostgreSQL did not start: " + (folder / "server.log").read_text()[-2000:])
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        finally:
            subprocess.run(_as_server_user([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                           capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server_url: str) -> str:
    """A new, empty database on the server (not migrated); returns its URL."""
    import psycopg

    name = "test_" + secrets.token_hex(6)
    with psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    if not installed():
        pytest.skip("PostgreSQL is not installed (Debian package postgresql-15)")
    with throwaway_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    return create_database(postgres_server)
