"""`flask --app wsgi db copy-to` refuses targets it must not write to, a copy that fails leaves the target empty,
and the target's own signing keys give way to the source's (the happy path, and the app working on the copy, is
tests/e2e/test_database_copy.py)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, func, select, text

from app.extensions import db
from app.lti import keys
from app.models import ToolKey
from app.services.operations.database_copy import REPLACED_TABLES
from app.services.operations.schema import head_revision
from tests import factories
from tests.conftest import make_app
from tests.helpers import flask_command


@pytest.fixture
def source(tmp_path):
    """An app on a SQLite file migrated by `db upgrade`, as every installation's is. (`postgres_url` is a database
    migrated the same way; `empty_postgres_url` one just created.)"""
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    migrated = flask_command("db", "upgrade", database_url=url, instance=tmp_path / "instance")
    assert migrated.returncode == 0, migrated.stderr
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        factories.make_user("ada")
        yield app
        db.session.remove()
        db.engine.dispose()


def _copy(app, *args: str):
    result = app.test_cli_runner().invoke(args=["db", "copy-to", *args, "--json"])
    return result.exit_code, json.loads(result.output)


def _rows(url: str) -> int:
    """Rows the copy would have written: everything but the rows a migrated database makes itself."""
    engine = create_engine(url)
    with engine.connect() as connection:
        total = sum(connection.execute(select(func.count()).select_from(table)).scalar_one()
                    for table in db.metadata.sorted_tables if table.name not in REPLACED_TABLES)
    engine.dispose()
    return total


def test_a_target_that_is_not_a_database_url_or_is_this_database_is_refused(source):
    assert _copy(source, "--target", "not a url") == (
        1, {"error": "--target is not a database URL. Give one like "
                     "postgresql+psycopg://courseport@127.0.0.1:5432/courseport."})
    code, body = _copy(source, "--target", str(db.engine.url))
    assert code == 1 and body["error"].startswith("--target is this installation's own database")


@pytest.mark.postgresql
def test_a_target_that_is_not_migrated_or_at_another_revision_is_refused(source, empty_postgres_url, postgres_url):
    code, body = _copy(source, "--target", empty_postgres_url)
    assert code == 1
    assert body["error"] == (f"The target database {empty_postgres_url} is not migrated, this installation's "
                             f"database at {head_revision()}. Migrate it to the same revision first: "
                             f"DATABASE_URL={empty_postgres_url} flask --app wsgi db upgrade")
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'other_0001'"))
    engine.dispose()
    code, body = _copy(source, "--target", postgres_url)
    assert code == 1 and f"{postgres_url} is at revision other_0001, this installation's" in body["error"]
    assert _rows(postgres_url) == 0


@pytest.mark.postgresql
def test_a_row_postgresql_refuses_stops_the_copy_and_leaves_the_target_empty(source, postgres_url):
    factories.make_course("BIO101", "Biology")
    db.session.execute(text("UPDATE user SET username = :long"), {"long": "u" * 150})  # SQLite ignores lengths
    db.session.commit()
    code, body = _copy(source, "--target", postgres_url)
    assert code == 1
    assert body["error"].startswith(f"Copying table user failed, nothing was written to {postgres_url}: value too "
                                    "long for type character varying(100)")
    assert _rows(postgres_url) == 0  # the course, copied before the user table failed, was rolled back too

    db.session.execute(text("UPDATE user SET username = 'ada'"))
    db.session.commit()
    code, body = _copy(source, "--target", postgres_url)
    # the user, the course, the two signing keys and the configuration version
    assert (code, body["rows"]["user"], body["rows"]["course"], body["total_rows"]) == (0, 1, 1, 5)


@pytest.mark.postgresql
def test_signing_keys_the_new_database_made_for_itself_give_way_to_this_installations(source, postgres_url,
                                                                                        tmp_path):
    keys.ensure_keys()
    db.session.commit()
    ours = set(db.session.execute(select(ToolKey.kid)).scalars())
    listed = flask_command("lti", "keys", "list", "--json", database_url=postgres_url, instance=tmp_path / "i")
    theirs = {row["kid"] for row in json.loads(listed.stdout)}
    assert len(theirs) == 2 and not theirs & ours

    code, body = _copy(source, "--target", postgres_url)
    assert (code, body["rows"]["tool_key"]) == (0, 2)
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        assert set(connection.execute(select(ToolKey.kid)).scalars()) == ours  # the keys platforms trust
    engine.dispose()
