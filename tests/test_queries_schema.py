"""Every raw statement (app/models/queries) prepared against the migrated schema, on every supported database.

Statements are found through the registry every DriverStatement joins when it is built, so a new one is checked
without anyone listing it here, and one built outside app/models/queries fails the first test.
"""
from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterator

import pytest
from sqlalchemy import JSON, Numeric

import app as application
from app.extensions import db
from app.models import Course, User
from app.models.base import UTCDateTime
from app.models.driver_sql import STATEMENTS, DriverStatement
from app.models.queries import accounts, courses
from tests.conftest import make_app
from tests.helpers import db_upgrade

QUERIES = "app.models.queries"


def _queries() -> dict[str, DriverStatement]:
    """Every statement a module of app.models.queries defines, by `module.NAME`."""
    package = importlib.import_module(QUERIES)
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{QUERIES}.{info.name}")
        found.update({f"{info.name}.{name}": value for name, value in vars(module).items()
                      if isinstance(value, DriverStatement)})
    return found


ALL = _queries()
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _dummy(statement: DriverStatement) -> dict[str, Any]:
    """A value of each parameter's declared type; NULL for the others, which the database types from the SQL."""
    values: dict[str, Any] = {}
    for name in statement.names:
        type_ = statement.types.get(name)
        value = NOW if isinstance(type_, UTCDateTime) else ["x"] if isinstance(type_, JSON) else \
            Decimal("1.5") if isinstance(type_, Numeric) else None
        values[name] = [value] if name in statement.expanding else value
    return values


def test_every_statement_of_the_application_is_in_the_queries_package():
    for info in pkgutil.walk_packages(application.__path__, "app."):
        importlib.import_module(info.name)
    known = set(map(id, ALL.values()))
    elsewhere = sorted(f"{statement.module}: {statement.sql[:60]}" for statement in list(STATEMENTS)
                       if statement.module.startswith("app.") and id(statement) not in known)
    assert elsewhere == []
    assert len(ALL) >= 40  # the discovery itself found the package's statements


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def migrated(request, tmp_path_factory) -> Iterator[str]:
    """An app context on a database `flask db upgrade` made: the schema production runs on. On PostgreSQL, a copy
    of the test server's template, which that command migrated."""
    folder = tmp_path_factory.mktemp("queries")
    server, name = None, None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'migrated.sqlite'}"
        db_upgrade(url, folder / "instance")
    else:
        server = request.getfixturevalue("postgres_server")
        name = server.create_database()
        url = server.url(name)
    app = make_app(folder, SQLALCHEMY_DATABASE_URI=url)  # its create_all finds every table there already
    with app.app_context():
        yield request.param
        db.session.remove()
        db.engine.dispose()
    if server is not None:
        server.drop_database(name)


def _statements_per_database() -> list:
    """Each statement on each database it is written for (SQL written for one dialect runs only there)."""
    return [pytest.param(database, name, id=f"{database}-{name}",
                         marks=[pytest.mark.postgresql] if database == "postgresql" else [])
            for database in ("sqlite", "postgresql") for name in sorted(ALL)
            if ALL[name].dialect in (None, database)]


@pytest.mark.parametrize(("migrated", "name"), _statements_per_database(), indirect=["migrated"])
def test_statement_prepares_on_the_migrated_schema(migrated, name):
    statement = ALL[name]
    assert db.engine.dialect.name == migrated
    try:
        statement.plan(**_dummy(statement))  # raises when the database cannot prepare it
    finally:
        db.session.rollback()


def test_instances_and_typed_results_read_back_what_was_written(migrated):
    """Result converters chosen with each column's driver type (PostgreSQL picks its numeric converter by it)."""
    try:
        course = Course(full_name="Typed", short_name="T1", grade_max=Decimal("12.50"))
        user = User(username="typed", email="t@example.org", first_name="T", last_name="Yped")
        db.session.add_all([course, user])
        db.session.flush()
        course_id, user_id = course.id, user.id
        db.session.expunge_all()

        (loaded,) = courses.COURSE.instances(Course, id=course_id)
        assert loaded.grade_max == Decimal("12.50") and loaded.short_name == "T1"
        (account,) = accounts.USER.instances(User, id=user_id, generation=0)
        assert account.created_at.tzinfo is not None and account.suspended is False
    finally:
        db.session.rollback()
