"""Driver-level statements (app/models/driver_sql.py): what they read back must be what the ORM reads back."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import InvalidRequestError

from app.extensions import db
from app.models import Course, User
from app.models.driver_sql import DriverStatement, columns_of
from tests import factories
from tests.postgres import BOTH_DATABASES

ROOT = Path(__file__).resolve().parents[2]
_USER = DriverStatement(f'SELECT {columns_of(User)} FROM "user" WHERE id = :id')
_COURSES = DriverStatement(f"SELECT {columns_of(Course)} FROM course WHERE id IN :ids ORDER BY id", expanding=("ids",))
_TIMES = DriverStatement('SELECT id, username, created_at, last_login_at FROM "user" WHERE id = :id',
                         result_times=("created_at", "last_login_at"))


def _statements(app):
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


@BOTH_DATABASES
def test_instances_equal_what_the_orm_loads(app):
    user = factories.make_user("ada", admin=True)
    user.last_login_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    db.session.commit()
    user_id = user.id
    expected = {column.key: getattr(user, column.key) for column in inspect(User).columns}
    db.session.remove()

    (loaded,) = _USER.instances(User, id=user_id)

    state = inspect(loaded)
    assert state.persistent and not state.expired_attributes and loaded in db.session
    assert {key: getattr(loaded, key) for key in expected} == expected
    assert loaded.is_site_admin is True and loaded.last_login_at.tzinfo is not None


@BOTH_DATABASES
def test_loaded_instances_need_no_further_queries_and_track_changes(app):
    user_id = factories.make_user("bob").id
    db.session.remove()
    (loaded,) = _USER.instances(User, id=user_id)
    seen = _statements(app)

    assert loaded.username == "bob" and loaded.full_name
    assert seen == []
    loaded.first_name = "Robert"
    db.session.commit()
    assert db.session.execute(select(User.first_name).where(User.id == user_id)).scalar() == "Robert"


@BOTH_DATABASES
def test_an_instance_the_session_holds_is_returned_as_is(app):
    user = factories.make_user("cy")
    held = db.session.get(User, user.id)
    held.first_name = "Changed, not flushed"

    assert _USER.instances(User, id=user.id) == [held]
    assert held.first_name == "Changed, not flushed"


@BOTH_DATABASES
def test_missing_rows_expanding_lists_and_typed_results(app):
    ids = [factories.make_course("B2").id, factories.make_course("A1").id, 999]
    db.session.remove()

    assert _USER.instances(User, id=999) == []
    courses = _COURSES.instances(Course, ids=ids)
    assert [course.short_name for course in courses] == ["B2", "A1"]
    assert courses[0].grade_max == Decimal("100")

    user = factories.make_user("dee")
    row = _TIMES.first(id=user.id)
    assert row.username == "dee" and row.created_at.tzinfo is timezone.utc and row.last_login_at is None
    assert _TIMES.scalar(id=user.id) == user.id and _TIMES.first(id=999) is None


@BOTH_DATABASES
def test_a_row_without_every_column_is_refused(app):
    user = factories.make_user("eve")
    partial = DriverStatement('SELECT id, username FROM "user" WHERE id = :id')
    try:
        partial.instances(User, id=user.id)
    except ValueError as error:
        assert "exactly the columns" in str(error)
    else:
        raise AssertionError("a partial row must not become an instance")


def test_instances_work_before_any_orm_query_in_a_new_process(tmp_path):
    """A fresh gunicorn worker may load its first user through `instances`: the mappers must be configured."""
    script = f"""
import os
os.environ["COURSEPORT_INSTANCE_PATH"] = {str(tmp_path / "instance")!r}
from app import create_app
from app.extensions import db
app = create_app({{"SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / 'fresh.sqlite'}", "TESTING": True}})
with app.app_context():
    db.create_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO user (username, email, first_name, last_name, is_site_admin, auth_method, suspended, "
            "email_visibility, city, country, timezone, lang, institution, created_at, updated_at) VALUES "
            "('fresh', 'f@example.org', 'F', 'Resh', 0, 'manual', 0, 2, '', '', '', 'en', '', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    from app.security import load_user
    print(load_user("1.0").username)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fresh"


@BOTH_DATABASES
def test_the_per_page_role_cache_forgets_roles_changed_by_write_statements(app):
    """Roles are read once per page (app/services/permissions.py); a write in the same transaction, by flush,
    Core statement or driver statement, must not leave a stale answer behind."""
    from sqlalchemy import update

    from app.models import RoleAssignment
    from app.services.launch import enrolment as lti_enrolment
    from app.services.courses import permissions

    course, user = factories.make_course("R1"), factories.make_user("rita")
    factories.enrol(user, course, "student")
    resource = factories.make_resource(course)
    assert permissions.course_role(user, course.id) == "student"

    lti_enrolment.enrol(user, resource, "noneditingteacher")  # on the driver's cursor
    assert permissions.course_role(user, course.id) == "noneditingteacher"

    db.session.execute(update(RoleAssignment).where(RoleAssignment.user_id == user.id).values(role="teacher"))
    assert permissions.course_role(user, course.id) == "teacher"


@BOTH_DATABASES
def test_a_raw_read_sees_pending_orm_changes(app):
    """Like an ORM query, a statement on the driver's cursor first flushes what the session holds: a setting
    changed or added in this transaction is read back with its new value, not the stored one."""
    from app.models import SiteSetting
    from app.services.platforms.settings import lti_settings

    db.session.add(SiteSetting(key="lti.clock_leeway", value=5))
    db.session.commit()
    db.session.execute(select(SiteSetting).where(SiteSetting.key == "lti.clock_leeway")).scalar_one().value = 7
    db.session.add(SiteSetting(key="lti.allow_account_creation", value=False))

    settings = lti_settings()

    assert settings["clock_leeway"] == 7 and settings["allow_account_creation"] is False


def test_a_no_autoflush_block_is_honoured_and_a_flush_hook_is_refused(app):
    """`no_autoflush` means what it means for ORM queries; inside a flush the pending rows are half-written, so a
    statement there is refused instead of reading them as they were."""
    user = factories.make_user("fay")
    user.first_name = "Pending"
    with db.session.no_autoflush:
        assert _TIMES.first(id=user.id).username == "fay"
        assert db.session.dirty
    db.session.rollback()

    def read_in_flush(session, *_):
        _TIMES.first(id=user.id)

    event.listen(db.session(), "before_flush", read_in_flush)
    try:
        user.first_name = "Flushing"
        with pytest.raises(InvalidRequestError, match="already flushing"):
            db.session.flush()
    finally:
        event.remove(db.session(), "before_flush", read_in_flush)


@BOTH_DATABASES
def test_an_empty_in_list_is_refused_by_name(app):
    """`IN ()` is not SQL (PostgreSQL rejects it; SQLite quietly matches nothing): callers skip the statement."""
    with pytest.raises(ValueError, match="IN :ids was given an empty list"):
        _COURSES.instances(Course, ids=[])


def test_the_role_cache_keeps_what_it_read_after_the_flush_its_statement_made(app, monkeypatch):
    """The roles statement flushes pending changes first, which empties the cache: what it read must still be
    kept for the rest of the page."""
    from app.services.courses import permissions

    course, user = factories.make_course("R2"), factories.make_user("ray")
    factories.enrol(user, course, "teacher")
    reads = []
    read_roles = permissions._ROLES.all
    monkeypatch.setattr(permissions._ROLES, "all", lambda **params: reads.append(params) or read_roles(**params))
    course_id, _loaded = course.id, user.id  # nothing left for an ORM load (and its autoflush) to read
    user.first_name = "Pending"
    assert db.session.dirty

    assert permissions.course_role(user, course_id) == "teacher"
    assert not db.session.dirty
    assert permissions.course_role(user, course_id) == "teacher"
    assert len(reads) == 1
