"""Legacy LTI end to end over real HTTP: an independent consumer (oauthlib's Client signing the launch form,
requests.Session as the browser, a threaded consumer server verifying what it receives) against live_server.

Learner and instructor launches (automatic account, Welcome page, enrolment, roles), Basic Outcomes received
and verified by the consumer (signature and body hash) with retries, the cartridge, and LTI 2 registration
followed by a launch with the registered credentials.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from app.extensions import db
from app.jobs.worker import run_due
from app.models import (
    Activity, Enrolment, LaunchLog, Lti11Consumer, LtiIdentity, LtiUser, RoleAssignment, SyncJob, User,
)
from app.models.base import utcnow
from app.services.courses.gradebook import record_grade
from tests import factories
from tests.e2e.legacy_consumer import ConsumerServer, launch_params, sign_launch
from tests.helpers import CSRF_RE
from tests.postgres import BOTH_DATABASES

KEY = "school-lms"


@pytest.fixture
def world(live_server, consumer):
    """A course with a quiz published as a legacy activity resource; a teacher with a manual account."""
    with live_server.app.app_context():
        course = factories.make_course("BIO", "Biology")
        quiz = Activity(course_id=course.id, type="quiz", name="Cells quiz", max_grade=Decimal("10"), position=1)
        db.session.add(quiz)
        db.session.commit()
        resource = factories.make_resource(course, quiz, legacy=True)
        factories.make_user("teacher1", first_name="Tess", last_name="Teacher")
        consumer.secrets[KEY] = resource.secret
        return {"course_id": course.id, "quiz_id": quiz.id, "resource_id": resource.id,
                "secret": resource.secret, "token": resource.legacy_token}


def _launch(live_server, world, session: requests.Session, *, key: str = KEY, secret: str | None = None,
            **params: str) -> requests.Response:
    url = f"{live_server.url}/lti/v1/launch/{world['resource_id']}"
    body = sign_launch(url, key, secret or world["secret"], launch_params(**params))
    return session.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                        allow_redirects=False, timeout=10)


def _learner_params(consumer: ConsumerServer) -> dict[str, str]:
    return {"user_id": "stu-7", "roles": "Learner", "lis_outcome_service_url": f"{consumer.url}/outcomes",
            "lis_result_sourcedid": "sourcedid-stu-7", "launch_presentation_return_url": "https://lms.example.org/ret"}


@BOTH_DATABASES
def test_learner_launch_creates_enrols_and_lands_embedded(live_server, world, consumer):
    browser = requests.Session()
    response = _launch(live_server, world, browser, **_learner_params(consumer))
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith(f"/activity/{world['quiz_id']}")
    page = browser.get(live_server.url + response.headers["Location"], timeout=10)
    assert page.status_code == 200 and "Cells quiz" in page.text
    assert "frame-ancestors 'self' https://lms.example.org" in page.headers["Content-Security-Policy"]
    with live_server.app.app_context():
        identity = db.session.scalars(db.select(LtiIdentity)).one()
        assert (identity.issuer, identity.subject) == (f"urn:lti11:{KEY}", "stu-7")
        user = db.session.get(User, identity.user_id)
        assert user.username.startswith("lti11_") and user.auth_method == "lti"
        assert (user.first_name, user.last_name, user.email) == ("Grace", "Hopper", "grace@lms.example.org")
        enrolment = db.session.scalars(db.select(Enrolment)).one()
        assert enrolment.published_resource_id == world["resource_id"]
        role = db.session.scalars(db.select(RoleAssignment)).one()
        assert (role.role, role.activity_id) == ("student", world["quiz_id"])
        lti_user = db.session.scalars(db.select(LtiUser)).one()
        assert (lti_user.consumer_key, lti_user.outcome_url, lti_user.result_sourcedid, lti_user.context_id) == (
            KEY, f"{consumer.url}/outcomes", "sourcedid-stu-7", "course-42")
        consumer_row = db.session.scalars(db.select(Lti11Consumer)).one()
        assert (consumer_row.consumer_key, consumer_row.name, consumer_row.guid, consumer_row.version) == (
            KEY, "Test LMS", "lms.example.org", "4.2")
        assert consumer_row.secret is None and consumer_row.frame_origins == ["https://lms.example.org"]
        log = db.session.scalars(db.select(LaunchLog)).one()
        assert (log.kind, log.outcome, log.consumer_key, log.user_id, log.subject) == (
            "LTI 1.1 launch", "success", KEY, user.id, "stu-7")


def test_hmac_sha256_launches_work_too(live_server, world):
    url = f"{live_server.url}/lti/v1/launch/{world['resource_id']}"
    body = sign_launch(url, KEY, world["secret"], launch_params(), method="HMAC-SHA256")
    response = requests.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                             allow_redirects=False, timeout=10)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/activity/{world['quiz_id']}")


def _csrf(page: requests.Response) -> str:
    match = CSRF_RE.search(page.text)
    assert match, page.text
    return match.group(1)


def test_instructor_is_prompted_links_an_existing_account_and_is_not_prompted_again(live_server, world):
    browser = requests.Session()
    response = _launch(live_server, world, browser, user_id="teach-1", roles="urn:lti:role:ims/lis/Instructor")
    assert response.status_code == 302 and "/lti/account/" in response.headers["Location"]
    welcome = browser.get(live_server.url + response.headers["Location"], timeout=10)
    assert welcome.status_code == 200
    assert "It looks like this is your first time here." in welcome.text
    assert "Create an account for me" in welcome.text  # mode 2 with creation allowed
    with live_server.app.app_context():
        assert db.session.scalar(db.select(db.func.count(LtiIdentity.id))) == 0
    account_url = live_server.url + response.headers["Location"]
    wrong = browser.post(f"{account_url}?action=login", data={
        "csrf_token": _csrf(welcome), "username": "teacher1", "password": "wrong"}, timeout=10)
    assert wrong.status_code == 400 and "Invalid login, please try again" in wrong.text
    linked = browser.post(f"{account_url}?action=login", data={
        "csrf_token": _csrf(wrong), "username": "teacher1", "password": "Password-123"}, timeout=10)
    assert linked.status_code == 200 and "Your existing account has been successfully linked." in linked.text
    continue_url = re.search(r'href="([^"]+)">Continue', linked.text).group(1)
    landed = browser.get(live_server.url + continue_url, allow_redirects=False, timeout=10)
    assert landed.status_code == 302 and landed.headers["Location"].endswith(f"/activity/{world['quiz_id']}")
    with live_server.app.app_context():
        teacher = db.session.scalar(db.select(User).where(User.username == "teacher1"))
        identity = db.session.scalars(db.select(LtiIdentity)).one()
        assert (identity.user_id, identity.issuer, identity.subject) == (teacher.id, f"urn:lti11:{KEY}", "teach-1")
        role = db.session.scalars(db.select(RoleAssignment)).one()
        assert (role.user_id, role.role) == (teacher.id, "teacher")
        assert teacher.auth_method == "manual" and teacher.first_name == "Tess"  # linked accounts are never changed
    again = _launch(live_server, world, requests.Session(), user_id="teach-1", roles="Instructor")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/activity/{world['quiz_id']}")


def test_grades_reach_the_consumer_signed_with_a_body_hash_and_failures_retry(live_server, world, consumer):
    assert _launch(live_server, world, requests.Session(), **_learner_params(consumer)).status_code == 302
    with live_server.app.app_context():
        consumer.outcome_failures.append(503)
        user = db.session.scalar(db.select(User).where(User.username.like("lti11_%")))
        record_grade(db.session.get(Activity, world["quiz_id"]), user, "7.5", feedback=None, grader=None)
        db.session.commit()
        job = db.session.scalars(db.select(SyncJob)).one()
        assert (job.kind, job.status) == ("outcome_push", "pending")
        assert run_due().retried == 1
        db.session.expire_all()
        assert (job.status, job.attempts, job.last_http_status) == ("pending", 1, 503)
        assert consumer.scores == []
        job.run_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert run_due().done == 1
        db.session.expire_all()
        assert job.status == "done"
        assert db.session.scalars(db.select(LtiUser)).one().last_grade_sent == Decimal("7.5")
    assert consumer.scores == [("sourcedid-stu-7", "0.75")]
    outcome_requests = [item for item in consumer.received if item.path == "/outcomes"]
    assert len(outcome_requests) == 2 and all(item.verified for item in outcome_requests)
    assert all(item.consumer_key == KEY for item in outcome_requests)
    with live_server.app.app_context():  # unchanged grade: the sweep queues nothing new
        from app.services.legacy.outcomes import queue_outcome_pushes
        assert queue_outcome_pushes() == 0


def test_the_cartridge_needs_the_right_token(live_server, world):
    good = requests.get(f"{live_server.url}/lti/v1/cartridge/{world['resource_id']}/{world['token']}.xml",
                        timeout=10)
    assert good.status_code == 200 and good.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ElementTree.fromstring(good.content)
    ns = {"blti": "http://www.imsglobal.org/xsd/imsbasiclti_v1p0"}
    assert root.findtext("blti:title", namespaces=ns) == "Cells quiz"
    assert root.findtext("blti:launch_url", namespaces=ns) == \
        f"{live_server.url}/lti/v1/launch/{world['resource_id']}"
    bad = requests.get(f"{live_server.url}/lti/v1/cartridge/{world['resource_id']}/{'a' * 32}.xml", timeout=10)
    assert bad.status_code == 404 and "The token was incorrect." in bad.text


def test_lti2_registration_then_a_launch_with_the_registered_credentials(live_server, world, consumer):
    consumer.secrets["reg-key"] = "reg-password"
    browser = requests.Session()
    response = browser.post(f"{live_server.url}/lti/v2/register/{world['resource_id']}/{world['token']}", data={
        "lti_message_type": "ToolProxyRegistrationRequest", "lti_version": "LTI-2p0", "reg_key": "reg-key",
        "reg_password": "reg-password", "tc_profile_url": f"{consumer.url}/profile",
        "launch_presentation_return_url": "https://lms.example.org/tp-return"}, timeout=10)
    assert response.status_code == 200 and "Successful registration" in response.text
    continue_url = re.search(r'href="([^"]+)">Continue', response.text).group(1).replace("&amp;", "&")
    assert dict(parse_qsl(urlsplit(continue_url).query)) == {
        "lti_msg": "Successful registration", "status": "success", "tool_proxy_guid": "guid-from-lms-0001"}
    [proxy_request] = [item for item in consumer.received if item.path == "/toolproxy"]
    assert proxy_request.verified
    shared_secret = consumer.tool_proxies[0]["security_contract"]["shared_secret"]
    launched = _launch(live_server, world, browser, key="guid-from-lms-0001", secret=shared_secret,
                       lti_version="LTI-2p0", user_id="stu-9",
                       custom_context_memberships_url=f"{consumer.url}/memberships/CourseSection/course-42")
    assert launched.status_code == 302 and launched.headers["Location"].endswith(f"/activity/{world['quiz_id']}")
    refused = _launch(live_server, world, requests.Session(), key="guid-from-lms-0001", lti_version="LTI-2p0")
    assert refused.status_code == 401  # the resource's own secret is not this consumer's secret
    with live_server.app.app_context():
        consumer_row = db.session.scalars(db.select(Lti11Consumer)).one()
        assert (consumer_row.consumer_key, consumer_row.lti_version) == ("guid-from-lms-0001", "LTI-2p0")
        assert consumer_row.secret == shared_secret
        lti_user = db.session.scalars(db.select(LtiUser)).one()
        assert (lti_user.consumer_key, lti_user.memberships_url) == (
            "guid-from-lms-0001", f"{consumer.url}/memberships/CourseSection/course-42")
        kinds = [row.kind for row in db.session.scalars(db.select(LaunchLog).order_by(LaunchLog.id))]
        assert kinds == ["LTI 2 registration", "LTI 1.1 launch", "LTI 1.1 launch"]
