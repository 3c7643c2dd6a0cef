"""A throwaway PostgreSQL server for tests marked `postgresql`: Debian's binaries, a data folder of its own,
listening on a free port on 127.0.0.1 only. One server per test process; one new database per test."""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from tests.helpers import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_server_user(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` account then."""
    if os.geteuid() != 0:
        return args
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{arg}'" for arg in args)]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The server's base URL (no database name); skips when PostgreSQL is not installed."""
    if not (BIN / "initdb").exists():
        pytest.skip("PostgreSQL is not installed (Debian package postgresql-15)")
    folder = Path(tempfile.mkdtemp(prefix="courseport-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
    data = folder / "data"
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
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail("PostgreSQL did not start: " + (folder / "server.log").read_text()[-2000:])
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_server_user([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the test server (not migrated)."""
    import psycopg

    name = "test_" + secrets.token_hex(6)
    with psycopg.connect(postgres_server.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"
