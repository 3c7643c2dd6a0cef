"""Driver-level statements (app/models/driver_sql.py): what they read back must be what the ORM reads back."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, inspect, select

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
