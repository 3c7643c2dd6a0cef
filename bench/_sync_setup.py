"""Shared by bench/grades.py and bench/members.py: a Courseport app on a fresh SQLite file (or a PostgreSQL
database) and the test platform (tests/e2e/ags_platform.py, built on lti1p3platform) in its own process, so it
never shares our CPU time slice."""
from __future__ import annotations

import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.lti import keys  # noqa: E402
from app.models import Deployment, PlatformRegistration  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402


@contextmanager
def database_url(folder: str, database: str) -> Iterator[str]:
    """A fresh SQLite file in `folder`, or a database on a throwaway PostgreSQL server (tests/postgres.py)."""
    if database == "sqlite":
        yield f"sqlite:///{folder}/bench.sqlite"
        return
    server = PostgresServer().start()
    try:
        yield server.url(server.create_database(template=None))  # empty: bench_app creates the tables
    finally:
        server.stop()


@contextmanager
def bench_app(database: str = "sqlite") -> Iterator:
    with tempfile.TemporaryDirectory(prefix="courseport-bench-") as folder, database_url(folder, database) as url:
        os.environ["COURSEPORT_INSTANCE_PATH"] = os.path.join(folder, "instance")
        app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(16), "SQLALCHEMY_DATABASE_URI": url,
                          "ALLOW_PRIVATE_ADDRESSES": True})  # the platform runs on 127.0.0.1
        with app.app_context():
            db.create_all()
            keys.ensure_keys()  # as `flask db upgrade` does
            db.session.commit()
            yield app, Path(folder)
            db.session.remove()
            db.engine.dispose()


@contextmanager
def platform_process(folder: Path, port: int, members: int = 0) -> Iterator[str]:
    """Start the platform trusting our keys; yields its base URL."""
    jwks = folder / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks()))
    db.session.commit()
    args = [sys.executable, "-m", "tests.e2e.ags_platform", "--jwks", str(jwks), "--port", str(port), "--no-record"]
    if members:
        args += ["--members", str(members)]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        yield json.loads(process.stdout.readline())["url"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def registration_for(url: str) -> PlatformRegistration:
    registration = PlatformRegistration(name="Bench LMS", issuer=url, client_id="courseport-client",
                                        login_id=secrets.token_hex(30), auth_request_url=f"{url}/auth",
                                        jwks_url=f"{url}/jwks", access_token_url=f"{url}/token", status="active")
    db.session.add(registration)
    db.session.flush()
    db.session.add(Deployment(registration_id=registration.id, deployment_id="dep-1", name="dep-1", status="active"))
    db.session.commit()
    return registration


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
