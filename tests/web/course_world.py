"""One course with a person in every role of the course permission matrix, shared by the course, activity and gradebook tests."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest

from app.extensions import db
from app.models import Activity, Course, Enrolment, RoleAssignment, User
from tests.factories import enrol, make_course, make_user
from tests.helpers import csrf_token, login


@dataclass
class World:
    course: Course
    admin: User
    teacher: User
    noneditor: User
    student: User
    outsider: User

    def activity_only(self, activity: Activity, username: str = "visitor", role: str = "student") -> User:
        """A user who came in through an activity-level publication: a role on that activity only."""
        user = make_user(username, first_name="Vi", last_name="Sitor")
        enrolment = Enrolment(course_id=self.course.id, user_id=user.id)
        db.session.add(enrolment)
        db.session.flush()
        db.session.add(RoleAssignment(enrolment_id=enrolment.id, user_id=user.id, course_id=self.course.id,
                                      activity_id=activity.id, role=role))
        db.session.commit()
        return user


@pytest.fixture
def world(app) -> World:
    course = make_course("MATH", "Mathematics")
    people = {
        "admin": make_user("admin", admin=True, first_name="Ada", last_name="Admin"),
        "teacher": make_user("teach", first_name="Tom", last_name="Teacher"),
        "noneditor": make_user("assist", first_name="Nora", last_name="Noneditor"),
        "student": make_user("stud", first_name="Sue", last_name="Student"),
        "outsider": make_user("other", first_name="Otto", last_name="Outsider"),
    }
    enrol(people["teacher"], course, "teacher")
    enrol(people["noneditor"], course, "noneditingteacher")
    enrol(people["student"], course, "student")
    return World(course=course, **people)


_FIELD_ERROR = re.compile(r'<p class="field-error" id="([\w-]+)-error">(.*?)</p>', re.S)


def field_errors(response) -> dict[str, str]:
    """Field id → the message shown under that field."""
    return {field: html.unescape(text) for field, text in _FIELD_ERROR.findall(response.get_data(as_text=True))}


def switch_user(client, username: str) -> None:
    """Log out whoever is signed in (a CSRF-protected POST), then log in as `username`."""
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, username)
