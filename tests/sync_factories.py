"""Rows a launch would have left behind (registration, resource links, LTI users) for grade and member sync tests,
pointing at a test platform (`tests/e2e/ags_platform.py`)."""
from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.lti import keys
from app.lti.ags_nrps import AGS_SCOPES_USED
from app.lti.identity import platform_scope
from app.models import (
    Activity, Course, Deployment, Grade, LtiContext, LtiIdentity, LtiUser, LtiUserResourceLink, PlatformRegistration,
    PublishedResource, ResourceLink, User,
)
from app.models.base import utcnow
from app.services.courses.gradebook import grade_by_teacher
from tests.e2e.ags_platform import LINEITEM, LINEITEM_READONLY, SCORE, AgsPlatform
from tests.factories import enrol, make_activity, make_course, make_resource, make_user

ALL_AGS = (LINEITEM, LINEITEM_READONLY, SCORE, "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly")
_counter = itertools.count(1)


def tool_jwks() -> dict[str, Any]:
    """Our public keys, created if needed and committed, as a platform would fetch them."""
    jwks = keys.jwks()
    db.session.commit()
    return jwks


def make_platform_registration(platform: AgsPlatform, name: str = "Test LMS") -> PlatformRegistration:
    registration = PlatformRegistration(
        name=name, issuer=platform.issuer, client_id=platform.client_id, login_id=secrets.token_hex(30),
        auth_request_url=f"{platform.url}/auth", jwks_url=f"{platform.url}/jwks",
        access_token_url=platform.token_url, status="active")
    db.session.add(registration)
    db.session.flush()
    db.session.add(Deployment(registration_id=registration.id, deployment_id="dep-1", name="dep-1", status="active"))
    db.session.commit()
    return registration


def make_link(resource: PublishedResource, registration: PlatformRegistration, *, rlid: str | None = None,
              context: str = "c1", lineitems_url: str | None = None, lineitem_url: str | None = None,
              scopes: Sequence[str] = ALL_AGS, memberships_url: str | None = None,
              nrps_versions: Sequence[str] = ("2.0",), title: str = "Week 1") -> ResourceLink:
    deployment = db.session.execute(db.select(Deployment).where(
        Deployment.registration_id == registration.id)).scalars().first()
    lti_context = db.session.execute(db.select(LtiContext).where(
        LtiContext.deployment_id == deployment.id, LtiContext.context_id == context)).scalar()
    if lti_context is None:
        lti_context = LtiContext(deployment_id=deployment.id, context_id=context, title=f"Course {context}",
                                 label=context.upper(), types=[])
        db.session.add(lti_context)
        db.session.flush()
    link = ResourceLink(deployment_id=deployment.id, resource_link_id=rlid or f"rl-{next(_counter)}",
                        published_resource_id=resource.id, lti_context_id=lti_context.id, title=title,
                        ags_lineitems_url=lineitems_url, ags_lineitem_url=lineitem_url, ags_scopes=list(scopes),
                        nrps_memberships_url=memberships_url, nrps_versions=list(nrps_versions))
    db.session.add(link)
    db.session.commit()
    return link


def link_user(resource: PublishedResource, link: ResourceLink, user: User, subject: str | None = None,
              *, last_grade_sent: Decimal | None = None) -> LtiUser:
    """The user came in through this link: LTI identity, LTI user and user↔link row."""
    registration = link.deployment.registration
    subject = subject or f"sub-{user.username}"
    scope = platform_scope(registration.platform_key)
    if db.session.execute(db.select(LtiIdentity).where(LtiIdentity.scope == scope,
                                                       LtiIdentity.subject == subject)).scalar() is None:
        db.session.add(LtiIdentity(user_id=user.id, scope=scope, issuer=registration.issuer, subject=subject,
                                   registration_id=registration.id))
    lti_user = db.session.execute(db.select(LtiUser).where(
        LtiUser.published_resource_id == resource.id, LtiUser.user_id == user.id)).scalar()
    if lti_user is None:
        lti_user = LtiUser(user_id=user.id, published_resource_id=resource.id, deployment_id=link.deployment_id,
                           subject=subject)
        db.session.add(lti_user)
        db.session.flush()
    db.session.add(LtiUserResourceLink(lti_user_id=lti_user.id, resource_link_id=link.id,
                                       last_grade_sent=last_grade_sent))
    db.session.commit()
    return lti_user


@pytest.fixture
def platform(app):
    """The test platform, trusting our current public keys; stopped after the test."""
    with AgsPlatform(tool_jwks()) as server:
        yield server


@dataclass
class GradeScene:
    """A course with an assignment (maximum 10) published as an activity, two students linked from one LMS."""

    course: Course
    assignment: Activity
    teacher: User
    students: list[User]
    resource: PublishedResource
    registration: PlatformRegistration
    link: ResourceLink
    lti_users: list[LtiUser]

    def grade(self, student: User, value: str) -> None:
        grade_by_teacher(self.assignment, student, value, feedback="", grader=self.teacher)
        db.session.commit()


def grade_scene(platform: AgsPlatform, *, students: int = 2, target: str = "activity", link_kwargs=None,
                **resource_settings: Any) -> GradeScene:
    course = make_course(f"S{next(_counter)}", "Synchronised course")
    assignment = make_activity(course, "assignment", "Essay", max_grade="10")
    teacher = make_user(f"teacher{next(_counter)}")
    enrol(teacher, course, "teacher")
    people = []
    for _ in range(students):
        person = make_user(f"pupil{next(_counter)}")
        enrol(person, course, "student")
        people.append(person)
    resource = make_resource(course, assignment if target == "activity" else None, **resource_settings)
    registration = make_platform_registration(platform)
    link = make_link(resource, registration, **({"lineitems_url": platform.lineitems_url()} | (link_kwargs or {})))
    lti_users = [link_user(resource, link, person) for person in people]
    return GradeScene(course, assignment, teacher, people, resource, registration, link, lti_users)


def graded_students(registration: PlatformRegistration, lineitem: str, count: int) -> None:
    """`count` students, each with a grade on an assignment (maximum 100) published as an activity and each
    linked through one resource link of `registration` whose scores go to the platform's `lineitem`, written in
    bulk for the benchmarks and the many-workers tests."""
    course = Course(full_name="Bulk course", short_name=f"BULK{next(_counter)}")
    db.session.add(course)
    db.session.flush()
    activity = Activity(course_id=course.id, type="assignment", name="Essay", max_grade=100, position=1)
    db.session.add(activity)
    db.session.flush()
    resource = PublishedResource(course_id=course.id, activity_id=activity.id, target="activity",
                                 uuid=str(uuid.uuid4()))
    db.session.add(resource)
    db.session.flush()
    link = ResourceLink(deployment_id=registration.deployments[0].id, resource_link_id=f"rl-{next(_counter)}",
                        published_resource_id=resource.id, ags_lineitem_url=lineitem,
                        ags_lineitems_url=lineitem.rsplit("/", 1)[0], ags_scopes=list(AGS_SCOPES_USED))
    db.session.add(link)
    db.session.flush()
    now = utcnow()
    prefix = f"bulk{course.id}-"
    db.session.execute(insert(User.__table__), [
        {"username": f"{prefix}{i}", "first_name": "Bulk", "last_name": str(i), "email": f"{prefix}{i}@example.org",
         "auth_method": "lti", "created_at": now, "updated_at": now} for i in range(count)])
    users = dict(db.session.execute(db.select(User.username, User.id).where(User.username.startswith(prefix))).all())
    db.session.execute(insert(LtiUser.__table__), [
        {"user_id": users[f"{prefix}{i}"], "published_resource_id": resource.id, "subject": f"sub-{prefix}{i}",
         "created_at": now, "updated_at": now} for i in range(count)])
    lti_users = db.session.execute(db.select(LtiUser.id).where(
        LtiUser.published_resource_id == resource.id)).scalars().all()
    db.session.execute(insert(LtiUserResourceLink.__table__), [
        {"lti_user_id": lti_id, "resource_link_id": link.id, "created_at": now, "updated_at": now}
        for lti_id in lti_users])
    db.session.execute(insert(Grade.__table__), [
        {"activity_id": activity.id, "user_id": users[f"{prefix}{i}"], "value": i % 100 + 0.5, "feedback": "",
         "changed_at": now, "created_at": now, "updated_at": now} for i in range(count)])
    db.session.commit()
