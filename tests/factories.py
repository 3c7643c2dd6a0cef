"""Plain functions that build realistic rows; tests and fixtures call them inside an app context."""
from __future__ import annotations

import itertools
from decimal import Decimal

from app.extensions import db
from app.models import Course, Enrolment, RoleAssignment, User
from app.services.accounts.users import create_user

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


def make_registration(name: str = "Test platform", *, issuer: str = "https://lms.example.org",
                      client_id: str | None = None, deployment_ids: tuple[str, ...] = ("deployment-1",),
                      auth_request_url: str | None = None, jwks_url: str | None = None,
                      access_token_url: str | None = None):
    """An Active registration (all five platform fields set) with Active deployments."""
    import secrets

    from app.models import Deployment, PlatformRegistration

    registration = PlatformRegistration(
        name=name, issuer=issuer, client_id=client_id or secrets.token_hex(8), login_id=secrets.token_hex(30),
        auth_request_url=auth_request_url or f"{issuer}/auth", jwks_url=jwks_url or f"{issuer}/jwks",
        access_token_url=access_token_url or f"{issuer}/token", status="active")
    db.session.add(registration)
    db.session.flush()
    for deployment_id in deployment_ids:
        db.session.add(Deployment(registration_id=registration.id, deployment_id=deployment_id,
                                  name=deployment_id, status="active"))
    db.session.commit()
    return registration


def make_resource(course: Course, activity=None, *, legacy: bool = False, **settings):
    """A published resource with the default settings; `settings` overrides any column."""
    import secrets
    import uuid

    from app.models import PublishedResource

    settings.setdefault("secret", secrets.token_hex(16) if legacy else None)
    resource = PublishedResource(
        course_id=course.id, activity_id=activity.id if activity else None,
        target="activity" if activity else "course", lti_version="legacy" if legacy else "1.3",
        uuid=None if legacy else str(uuid.uuid4()),
        legacy_token=secrets.token_hex(16) if legacy else None, **settings)
    db.session.add(resource)
    db.session.commit()
    return resource


def make_activity(course: Course, activity_type: str = "page", name: str | None = None, **fields):
    """An activity at the end of the course, through the same service as the Add form; `fields` are
    ActivityFields (max_grade, content_html, attempts_allowed, visible…)."""
    from app.services.courses.content import ActivityFields, create_activity

    activity = create_activity(course, activity_type,
                               ActivityFields(name=name or f"{activity_type.capitalize()} {next(_counter)}", **fields))
    db.session.commit()
    return activity


def make_quiz(course: Course, name: str = "Quiz", questions: int = 2, **fields):
    """A quiz whose question n has choices "right n" (correct) and "wrong n"."""
    from app.services.courses.quiz import ChoiceInput, save_question

    quiz = make_activity(course, "quiz", name, **fields)
    for number in range(1, questions + 1):
        save_question(quiz, f"Question {number}?", [ChoiceInput(f"right {number}", True),
                                                    ChoiceInput(f"wrong {number}", False)])
    db.session.commit()
    return quiz
