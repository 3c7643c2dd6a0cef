"""Two requests saving the same row at once (a double-clicked Submit, two admins saving settings): the second
one waits for the first and updates the row; neither fails on the unique constraint."""
from __future__ import annotations

import threading
import time

import pytest

from app.extensions import db
from app.models import AssignmentSubmission, Enrolment, RoleAssignment, SiteSetting
from app.services.courses import assignments, enrolments
from app.services.platforms.settings import lti_settings, save_lti_settings
from tests import factories
from tests.conftest import make_app


def _race(app, first, second) -> list[BaseException]:
    """`first` writes and holds its transaction a moment; `second` starts while it is still uncommitted."""
    errors: list[BaseException] = []

    def run(save, delay_before: float, hold: float) -> None:
        with app.app_context():
            try:
                time.sleep(delay_before)
                save()
                time.sleep(hold)
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported to the test
                errors.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(first, 0.0, 0.4)),
               threading.Thread(target=run, args=(second, 0.15, 0.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_a_double_submitted_assignment_saves_once(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        course = factories.make_course("C1", "Course")
        activity_id = factories.make_activity(course, "assignment", "Essay").id
        user_id = factories.make_user("stu").id

    def save(text: str):
        def do() -> None:
            assignments.save_submission(_activity(activity_id), _user(user_id), text)
        return do

    assert _race(app, save("<p>first</p>"), save("<p>second</p>")) == []
    with app.app_context():
        [row] = db.session.scalars(db.select(AssignmentSubmission)).all()
        assert row.text_html == "<p>second</p>"
        db.engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_double_submitted_manual_enrolment_enrols_once_with_the_last_role(tmp_path, request, database):
    overrides = {"SQLALCHEMY_DATABASE_URI": request.getfixturevalue("postgres_url")} if database == "postgresql" else {}
    app = make_app(tmp_path, **overrides)
    with app.app_context():
        course_id = factories.make_course("C1", "Course").id
        user_id = factories.make_user("stu").id

    def enrol(role: str):
        def do() -> None:
            from app.models import Course

            enrolments.enrol_user(db.session.get(Course, course_id), _user(user_id), role)
        return do

    assert _race(app, enrol("student"), enrol("teacher")) == []
    with app.app_context():
        assert len(db.session.scalars(db.select(Enrolment)).all()) == 1
        [assignment] = db.session.scalars(db.select(RoleAssignment)).all()
        assert assignment.role == "teacher"
        db.session.remove()
        db.engine.dispose()


def test_settings_saved_twice_at_once_keep_the_last(tmp_path):
    app = make_app(tmp_path)
    assert _race(app, lambda: save_lti_settings({"clock_leeway": 30}),
                 lambda: save_lti_settings({"clock_leeway": 45})) == []
    with app.app_context():
        assert lti_settings()["clock_leeway"] == 45
        assert db.session.query(SiteSetting).count() == 1
        db.engine.dispose()


def _activity(activity_id: int):
    from app.models import Activity

    return db.session.get(Activity, activity_id)


def _user(user_id: int):
    from app.models import User

    return db.session.get(User, user_id)
