"""Shared set-up for the publishing tests: a course with its staff, and the form a browser would send."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.extensions import db
from app.models import Activity, Course, User
from tests.factories import enrol, make_course, make_user


@dataclass
class CourseWithStaff:
    course: Course
    quiz: Activity
    page: Activity
    teacher: User
    noneditor: User
    student: User


def course_with_staff(short_name: str = "PHYS1", full_name: str = "Physics 1") -> CourseWithStaff:
    course = make_course(short_name, full_name)
    quiz = Activity(course_id=course.id, type="quiz", name="Forces quiz", position=1, max_grade=10)
    page = Activity(course_id=course.id, type="page", name="Reading list", position=2)
    db.session.add_all([quiz, page])
    db.session.commit()
    teacher = make_user(f"{short_name.lower()}-teacher")
    noneditor = make_user(f"{short_name.lower()}-noneditor")
    student = make_user(f"{short_name.lower()}-student")
    enrol(teacher, course, "teacher")
    enrol(noneditor, course, "noneditingteacher")
    enrol(student, course, "student")
    return CourseWithStaff(course, quiz, page, teacher, noneditor, student)


def form_payload(**overrides: Any) -> dict[str, Any]:
    """The publish form as a browser submits it with every default (disabled fields are not sent)."""
    data: dict[str, Any] = {
        "lti_version": "1.3", "name": "", "target": "course", "enrol_period_unit": "days", "max_enrolled": "0",
        "role_instructor": "teacher", "role_learner": "student", "provisioning_mode_instructor": "2",
        "provisioning_mode_learner": "1", "available_to": "all", "secret": "Secret123abcdefghij", "grade_sync": "1",
        "grade_sync_completion": "0", "member_sync": "1", "member_sync_mode": "1", "email_visibility": "2",
        "city": "", "country": "", "timezone": "", "lang": "en", "institution": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
