"""Fixtures: an app on a temporary SQLite file per test (CSRF on), its client and CLI runner; the same on a fresh
PostgreSQL database for tests marked `postgresql` (tests/postgres.py)."""
from __future__ import annotations

import atexit
import contextvars
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db as _db
from app.lti import keys
from tests import factories, transaction_guard
from tests.helpers import LiveServer, free_port
from tests.postgres import PostgresServer

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a real server would.

    The `app` fixture keeps an app context pushed so tests can use the database directly; without this,
    requests would reuse that context and share its `g` and database session with the test, hiding
    missing commits and leaking per-request state.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def _create_app(tmp_path: Path, config: dict) -> Flask:
    os.environ["COURSEPORT_INSTANCE_PATH"] = str(tmp_path / "instance")
    try:
        app = create_app(config)
    finally:
        del os.environ["COURSEPORT_INSTANCE_PATH"]
    app.test_client_class = IsolatedClient
    return app


_schema_template: Path | None = None


def _sqlite_schema_template(config: dict) -> Path:
    """An empty database with the models' schema, made once per test process: every test starts from a copy of
    it, which costs a file copy instead of a create_all."""
    global _schema_template
    if _schema_template is None:
        folder = Path(tempfile.mkdtemp(prefix="courseport-schema-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "schema.sqlite"
        app = _create_app(folder, {**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        with app.app_context():
            _db.create_all()
            keys.ensure_keys()  # as `flask db upgrade` leaves them
            _db.session.commit()
            _db.engine.dispose()
        _schema_template = path
    return _schema_template


def make_app(tmp_path: Path, *, tool_keys: bool = True, **overrides) -> Flask:
    """`tool_keys=False`: a database without the signing keys `flask db upgrade` creates."""
    database = tmp_path / "test.sqlite"
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "COURSEPORT_BASE_URL": "http://127.0.0.1:5000",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
        "ALLOW_PRIVATE_ADDRESSES": True,  # every peer of the tests runs on 127.0.0.1
        **overrides,
    }
    if tool_keys and config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}" and not database.exists():
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_schema_template(config), database)
        return _create_app(tmp_path, config)
    app = _create_app(tmp_path, config)
    with app.app_context():
        _db.create_all()
        if tool_keys:  # as `flask db upgrade` leaves them
            keys.ensure_keys()
            _db.session.commit()
    return app


@pytest.fixture(autouse=True)
def no_transaction_across_http(monkeypatch):
    """Every test fails if a request to a platform leaves while the sending thread holds a database transaction."""
    transaction_guard.install(monkeypatch)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whatever uses the PostgreSQL server is in the `postgresql` subset (`-m postgresql`, `-m "not postgresql"`)."""
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL cluster per test process, its template database migrated once."""
    server = PostgresServer().start()
    try:
        server.migrate_template()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The SQLAlchemy URL of a fresh PostgreSQL database holding the migrated schema, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def empty_postgres_url(postgres_server) -> str:
    """A fresh PostgreSQL database with no schema at all (as `createdb` leaves it), dropped after the test."""
    name = postgres_server.create_database(template=None)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def database_url(request, tmp_path) -> str:
    """The database the `app` and `live_server` fixtures use: a SQLite file, or with `tests.postgres.BOTH_DATABASES`
    (indirect parametrization) a fresh PostgreSQL database too. COURSEPORT_TEST_DATABASE=postgresql runs every
    test that does not choose on PostgreSQL."""
    if getattr(request, "param", os.environ.get("COURSEPORT_TEST_DATABASE", "sqlite")) == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


def _app_in_context(tmp_path: Path, database_url: str):
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def app(tmp_path, database_url):
    yield from _app_in_context(tmp_path, database_url)


@pytest.fixture
def postgres_app(tmp_path, postgres_url):
    """`app` on a fresh PostgreSQL database cloned from the migrated template."""
    yield from _app_in_context(tmp_path, postgres_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def admin(app):
    return factories.make_user("admin", admin=True, first_name="Ada", last_name="Admin")


@pytest.fixture
def live_server(tmp_path, database_url):
    """The app served over real HTTP on 127.0.0.1, with COURSEPORT_BASE_URL pointing at it."""
    port = free_port()
    app = make_app(tmp_path, COURSEPORT_BASE_URL=f"http://127.0.0.1:{port}", SQLALCHEMY_DATABASE_URI=database_url)
    server = LiveServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()
        with app.app_context():
            _db.engine.dispose()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot to test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def consumer():
    """An LTI 1.1 consumer on 127.0.0.1 (tests/e2e/legacy_consumer.py); tests add the secrets they need."""
    from tests.e2e.legacy_consumer import ConsumerServer

    server = ConsumerServer().start()
    yield server
    server.stop()
