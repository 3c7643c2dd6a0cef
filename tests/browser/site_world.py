"""A site with something on every admin and teacher page, and the list of those pages, for the layout and
accessibility sweep (tests/browser/test_layout_a11y.py)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.extensions import db
from app.lti.errors import launch_error
from app.lti.identity import platform_scope
from app.models import Grade, Lti11Consumer, LtiIdentity, PlatformRegistration, SyncJob, User
from app.models.accounts import AUTH_LTI
from app.services.launch import log as launch_log
from app.services.launch.log import Attempt
from tests.factories import enrol, make_activity, make_course, make_quiz, make_registration, make_resource, make_user
from tests.sync_factories import link_user, make_link

LONG_ISSUER = "https://moodle.a-rather-long-school-district-name.example/lms/instances/secondary"


@dataclass
class SitePages:
    admin: list[str]
    teacher: list[str]


def build_site() -> SitePages:
    """Rows as a few weeks of real use would leave them; long names and URLs on purpose, to stretch tables."""
    make_user("admin", admin=True, first_name="Ada", last_name="Administrator-Longname")
    teacher = make_user("teacher", first_name="Terry", last_name="Teacher")
    students = [make_user(f"student{n}", first_name="Stella", last_name=f"Student-{n}",
                          email=f"stella.student.{n}@secondary.school-district.example") for n in range(1, 4)]
    course = make_course("PHYS1", "Physics 1: mechanics, waves and thermodynamics")
    enrol(teacher, course, "teacher")
    for student in students:
        enrol(student, course)
    page = make_activity(course, "page", "Reading: Newton's laws", content_html="<p>Read this.</p>")
    quiz = make_quiz(course, "Quiz: forces")
    essay = make_activity(course, "assignment", "Essay: energy", max_grade=Decimal("10"))
    db.session.add(Grade(activity_id=essay.id, user_id=students[0].id, value=Decimal("7.5")))

    registration = make_registration("Moodle secondary school", issuer=LONG_ISSUER, client_id="x" * 40)
    # Registered again under the same issuer: the "Same platform as …" choice and its confirmation page.
    again = make_registration("Moodle secondary school (registered again)", issuer=LONG_ISSUER, client_id="y" * 40)
    db.session.add(PlatformRegistration(name="Canvas (pending)", login_id="pending-login-id", status="pending"))
    course_tool = make_resource(course)
    essay_tool = make_resource(course, essay, name="Essay: energy")
    legacy_tool = make_resource(course, quiz, legacy=True, name="Quiz: forces")
    link = make_link(essay_tool, registration, context="phys-2026")
    for student in students:
        link_user(essay_tool, link, student)
    lms_user = User(username="lti13_5f2a9c0d1e", first_name="Lars", last_name="Launched",
                    email="lars.launched@moodle.a-rather-long-school-district-name.example", auth_method=AUTH_LTI)
    db.session.add(lms_user)
    db.session.flush()
    db.session.add(LtiIdentity(user_id=lms_user.id, scope=platform_scope(registration.platform_key),
                               issuer=LONG_ISSUER, subject="1207", registration_id=registration.id))
    db.session.add(Lti11Consumer(published_resource_id=legacy_tool.id, consumer_key="school-district-consumer-key"))
    db.session.add(SyncJob(kind="grade_push", dedupe_key=f"grade-{essay_tool.id}-{students[0].id}", status="failed",
                           published_resource_id=essay_tool.id, user_id=students[0].id, attempts=5,
                           last_error="HTTP 503 from https://moodle.a-rather-long-school-district-name.example/"
                                      "mod/lti/services.php/lineitems/12/scores", last_http_status=503))
    attempt = Attempt(user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120", ip="10.0.0.9")
    launch_log.record(launch_log.KIND_LAUNCH, launch_log.SUCCESS, attempt, registration=registration,
                      user_id=students[0].id, deployment_id="deployment-1", subject="sub-student1",
                      cookie_method="cookie", clock_skew=3)
    failed = launch_log.record_failure(launch_log.KIND_LAUNCH, launch_error(
        "kid_unknown", kid="k9", jwks_url=f"{LONG_ISSUER}/mod/lti/certs.php", name=registration.name, detail=".",
        registration=registration, iss=LONG_ISSUER, subject="sub-bad"), attempt)
    db.session.commit()

    admin_id = db.session.execute(db.select(User.id).where(User.username == "admin")).scalar()
    reg = f"/admin/lti/registrations/{registration.id}"
    tools = f"/course/{course.id}/lti"
    course_pages = [
        "/courses", f"/course/{course.id}", f"/course/{course.id}/participants", f"/course/{course.id}/grades",
        f"/activity/{page.id}", f"/activity/{quiz.id}", f"/activity/{quiz.id}/questions", f"/activity/{essay.id}",
        f"/activity/{essay.id}/submissions", f"/activity/{essay.id}/edit", f"/course/{course.id}/activity/new?type=quiz",
        tools, f"{tools}?tab=legacy", f"{tools}/new", f"{tools}/{essay_tool.id}/edit", f"{tools}/{essay_tool.id}/sync",
        f"{tools}/{course_tool.id}/sync",
    ]
    admin_pages = [
        "/", "/admin", "/admin/users", "/admin/users/new", f"/admin/users/{admin_id}/edit",
        f"/admin/users/{lms_user.id}/edit", f"/admin/users/{students[0].id}/password",
        "/admin/lti/settings", "/admin/lti/defaults", "/admin/lti/registrations", "/admin/lti/registrations/new",
        f"{reg}?tab=tooldetails", f"{reg}?tab=platformdetails", f"{reg}?tab=tooldeployments", f"{reg}/edit",
        f"{reg}/deployments/new", f"{reg}/same-platform?platform={again.id}", f"{reg}/guide/moodle", f"{reg}/guide/canvas", "/admin/lti/guides",
        "/admin/lti/keys", "/admin/lti/published", "/admin/lti/launches", f"/admin/lti/launches/{failed.id}",
        "/admin/lti/jobs", "/admin/lti/consumers", "/course/new", f"/course/{course.id}/edit",
        f"/course/{course.id}/participants/enrol", f"{tools}/new?legacy=1",
    ]
    # A site admin sees every course page a teacher does (and more); the teacher's own pass covers the header
    # and the pages whose controls depend on the teacher's role.
    return SitePages(admin=admin_pages + course_pages,
                     teacher=["/", f"/course/{course.id}", tools, f"/course/{course.id}/grades"])

