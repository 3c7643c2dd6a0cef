"""Courseport-side data for the content-selection tests: one registration, a teacher with published content in
two courses, and resources the teacher must never be offered.

Listed for the teacher, in this order (courses by full name, course row first, then activities by position):
    Algebra          (group header: no course resource)  → Equations quiz (max 20, available to this registration)
    Biology 101      (course resource, max 100)          → Cells quiz (max 10), Reading (page), Lab report (max 50)
Never listed: Chemistry's course resource (the teacher is a non-editing teacher there), and in Zoology (teacher) a
disabled course resource, an activity resource restricted to another registration, a legacy resource and a
resource whose activity was deleted.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.lti.identity import platform_scope
from app.models import LtiIdentity, PlatformRegistration
from app.services.courses.content import delete_activity
from tests.factories import enrol, make_activity, make_course, make_registration, make_resource, make_user


@dataclass
class Catalogue:
    login_id: str  # the registration's, for its Initiate login URL
    teacher_id: int
    noneditor_id: int
    student_id: int
    biology_course: str  # the listed resources' uuids…
    cells_quiz: str
    reading: str
    lab_report: str
    equations_quiz: str
    ids: dict[str, int]  # …and their ids, by the same names
    hidden_ids: dict[str, int]


def build_catalogue(*, issuer: str, client_id: str, platform_url: str,
                    deployment_id: str = "deployment-1") -> Catalogue:
    registration = make_registration("Test LMS", issuer=issuer, client_id=client_id, deployment_ids=(deployment_id,),
                                     auth_request_url=f"{platform_url}/auth", jwks_url=f"{platform_url}/jwks",
                                     access_token_url=f"{platform_url}/token")
    other = make_registration("Other LMS", issuer="https://other-lms.example.org")
    teacher = make_user("dl-teacher", first_name="Terry", last_name="Teacher")
    noneditor = make_user("dl-noneditor", first_name="Nina", last_name="Noneditor")
    student = make_user("dl-student", first_name="Sam", last_name="Student")

    biology = make_course("BIO101", "Biology 101")
    biology.summary_html = "<p>Cells &amp; <strong>life</strong></p>"
    cells = make_activity(biology, "quiz", "Cells quiz", max_grade="10", description_html="<p>Ten questions</p>")
    reading = make_activity(biology, "page", "Reading", content_html="<p>Read this</p>")
    lab = make_activity(biology, "assignment", "Lab report", max_grade="50")
    for user, role in ((teacher, "teacher"), (noneditor, "noneditingteacher"), (student, "student")):
        enrol(user, biology, role)

    algebra = make_course("ALG", "Algebra")
    equations = make_activity(algebra, "quiz", "Equations quiz", max_grade="20")
    enrol(teacher, algebra, "teacher")

    chemistry = make_course("CHEM", "Chemistry")
    enrol(teacher, chemistry, "noneditingteacher")

    zoology = make_course("ZOO", "Zoology")
    zoo_quiz = make_activity(zoology, "quiz", "Zoo quiz")
    zoo_page = make_activity(zoology, "page", "Zoo page")
    gone = make_activity(zoology, "page", "Gone page")
    enrol(teacher, zoology, "teacher")
    db.session.commit()

    listed = {
        "biology_course": make_resource(biology), "cells_quiz": make_resource(biology, cells),
        "reading": make_resource(biology, reading), "lab_report": make_resource(biology, lab),
        "equations_quiz": make_resource(algebra, equations, available_to="selected"),
    }
    hidden = {
        "chemistry_course": make_resource(chemistry),
        "zoology_disabled": make_resource(zoology, enabled=False),
        "zoology_restricted": make_resource(zoology, zoo_quiz, available_to="selected"),
        "zoology_legacy": make_resource(zoology, zoo_page, legacy=True),
        "zoology_deleted": make_resource(zoology, gone),
    }
    listed["equations_quiz"].registrations.append(db.session.get(PlatformRegistration, registration.id))
    hidden["zoology_restricted"].registrations.append(db.session.get(PlatformRegistration, other.id))
    delete_activity(gone)
    hidden["zoology_deleted"].enabled = True  # deleting disabled it; only the missing activity should hide it
    db.session.commit()
    return Catalogue(
        login_id=registration.login_id, teacher_id=teacher.id, noneditor_id=noneditor.id, student_id=student.id,
        **{name: resource.uuid for name, resource in listed.items()},
        ids={name: resource.id for name, resource in listed.items()},
        hidden_ids={name: resource.id for name, resource in hidden.items()})


def bind(user_id: int, issuer: str, subject: str) -> None:
    """The LMS identity is already linked to this account (an earlier launch did it)."""
    registration = db.session.scalars(db.select(PlatformRegistration).where(
        PlatformRegistration.issuer == issuer)).one()
    db.session.add(LtiIdentity(user_id=user_id, scope=platform_scope(registration.platform_key), issuer=issuer,
                               subject=subject, registration_id=registration.id))
    db.session.commit()
