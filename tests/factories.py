"""Plain functions that build realistic rows; tests and fixtures call them inside an app context."""
from __future__ import annotations

import itertools
from decimal import Decimal

from app.extensions import db
from app.models import Course, Enrolment, RoleAssignment, User
from app.services.accounts import create_user

PASSWORD = "Password-123"
_counter = itertools.count(1)


def make_user(username: str | None = None, *, admin: bool = False, password: str = PASSWORD,
              first_name: str = "Test", last_name: str | None = None, email: str | None = None) -> User:
    username = username or f"user{next(_counter)}"
    user = create_user(username, password, email=email or f"{username}@example.org", first_name=first_name,
                       last_name=last_name or username.capitalize(), is_site_admin=admin)
    db.session.commit()
    return user


def make_course(short_name: str | None = None, full_name: str | None = None) -> Course:
    short_name = short_name or f"C{next(_counter)}"
    course = Course(short_name=short_name, full_name=full_name or f"Course {short_name}",
                    grade_max=Decimal("100"))
    db.session.add(course)
    db.session.commit()
    return course


def enrol(user: User, course: Course, role: str = "student") -> Enrolment:
    """A manual course-level enrolment with one role."""
    enrolment = Enrolment(course_id=course.id, user_id=user.id)
    db.session.add(enrolment)
    db.session.flush()
    db.session.add(RoleAssignment(enrolment_id=enrolment.id, user_id=user.id, course_id=course.id, role=role))
    db.session.commit()
    return enrolment
