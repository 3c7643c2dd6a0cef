"""What a launch reads and writes: its registration and deployment once each, by the validation, whose Active rows
the rest of the launch uses (a launch resumed later reads them again); a returning learner's launch POST in a few
statements and one commit, with its configuration from the process's copy while no other server changed it; a
repeat view of the landing page in two reads and no write."""
from __future__ import annotations

import html
import re
import sqlite3
from contextlib import contextmanager
from typing import Iterator

import pytest
import requests
from sqlalchemy import event

from app.extensions import db
from app.models import Enrolment, LtiContext, LtiUser, PlatformRegistration, RoleAssignment
from app.models.platforms import STATUS_PENDING
from tests import factories
from tests.e2e.lti_launcher import INSTRUCTOR, LaunchPlatform, LinkSpec
from tests.e2e.platform_server import PlatformServer
from tests.postgres import SQLITE_ONLY

BASE = "http://127.0.0.1:5000"
_FORM_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


@pytest.fixture
def platform(app) -> Iterator[LaunchPlatform]:
    with PlatformServer() as server:
        launch_platform = LaunchPlatform(server, BASE)
        factories.make_registration("Test LMS", issuer=server.issuer, client_id=server.client_id,
                                    auth_request_url=launch_platform.auth_url, jwks_url=launch_platform.jwks_url)
        yield launch_platform


def _launch_form(client, platform: LaunchPlatform, resource_uuid: str, **link) -> dict[str, str]:
    hint = platform.add_link(LinkSpec(sub="learner-1", resource_uuid=resource_uuid, **link))
    login = client.get("/lti/login", query_string={
        "iss": platform.issuer, "login_hint": "learner-1", "target_link_uri": f"{BASE}/lti/launch",
        "lti_message_hint": hint, "client_id": platform.client_id})
    auth = requests.get(login.headers["Location"], timeout=10)
    return {name: html.unescape(value) for name, value in _FORM_INPUT.findall(auth.text)}


@SQLITE_ONLY
def test_a_launch_post_reads_its_registration_and_deployment_once(client, platform):
    course = factories.make_course("HIS1", "History")
    activity = factories.make_activity(course, "page", "Intro", content_html="<p>Read me</p>")
    form = _launch_form(client, platform, factories.make_resource(course, activity).uuid)
    seen: list[str] = []  # as SQLite runs them (driver-level statements bypass SQLAlchemy's events)
    event.listen(db.engine, "checkout", lambda connection, *_: connection.set_trace_callback(seen.append))
    launched = client.post("/lti/launch", data=form)
    assert launched.status_code == 302, launched.get_data(as_text=True)
    deployment_reads = [statement for statement in seen if statement.startswith("SELECT") and (
        "FROM deployment" in statement or "JOIN deployment" in statement)]
    assert len(deployment_reads) == 1, deployment_reads


def test_a_resumed_launch_reads_its_registration_again(client, platform):
    """The Welcome page resumes a launch validated by an earlier request: a registration that stopped being
    Active meanwhile refuses it."""
    form = _launch_form(client, platform, factories.make_resource(factories.make_course("HIS1", "History")).uuid,
                        roles=INSTRUCTOR)
    welcome = client.post("/lti/launch", data=form)
    assert welcome.status_code == 302 and "/lti/account/" in welcome.headers["Location"]
    launch_id = welcome.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    db.session.execute(db.update(PlatformRegistration).values(status=STATUS_PENDING))
    db.session.commit()
    resumed = client.get(f"/lti/launch/{launch_id}")
    assert resumed.status_code == 401
    assert "platform registration could not be found" in resumed.get_data(as_text=True)


@contextmanager
def _statements() -> Iterator[list[str]]:
    """The statements SQLite runs meanwhile (driver-level statements bypass SQLAlchemy's events)."""
    seen: list[str] = []

    def trace(connection, *_):
        connection.set_trace_callback(seen.append)

    event.listen(db.engine, "checkout", trace)
    try:
        yield seen
    finally:
        event.remove(db.engine, "checkout", trace)


def _counts(seen: list[str]) -> tuple[int, int, int]:
    """Statements (BEGIN, COMMIT and ROLLBACK apart), writes among them, commits."""
    verbs = [statement.split(None, 1)[0].upper() for statement in seen if statement.strip()]
    statements = [verb for verb in verbs if verb not in ("BEGIN", "COMMIT", "ROLLBACK")]
    return (len(statements), sum(verb in ("INSERT", "UPDATE", "DELETE", "REPLACE") for verb in statements),
            verbs.count("COMMIT"))


def _returning_launch(app, platform: LaunchPlatform, resource_uuid: str) -> tuple[object, dict[str, str]]:
    """A learner's first launch and a second one (which finds the registration's last-launch time fresh), each in
    its own browser, then a fresh browser with the learner's next launch form."""
    for _ in range(2):
        earlier = app.test_client()
        landed = earlier.post("/lti/launch", data=_launch_form(earlier, platform, resource_uuid))
        assert earlier.get(landed.headers["Location"]).status_code == 200
    browser = app.test_client()
    return browser, _launch_form(browser, platform, resource_uuid)


@SQLITE_ONLY
def test_a_returning_learners_launch_post_runs_six_statements_and_one_commit(app, platform):
    course = factories.make_course("HIS1", "History")
    activity = factories.make_activity(course, "page", "Intro", content_html="<p>Read me</p>")
    browser, form = _returning_launch(app, platform, factories.make_resource(course, activity).uuid)
    with _statements() as seen:
        launched = browser.post("/lti/launch", data=form)
    assert launched.status_code == 302, launched.get_data(as_text=True)
    statements, writes, commits = _counts(seen)
    assert statements <= 6 and writes <= 2 and commits == 1, seen
    # Settings, registration, deployment and resource come from the process's copy, the platform key from the
    # keys it parsed: none is read again.
    configuration = ("site_setting", "platform_registration", "FROM deployment", "published_resource ",
                     "platform_keyset")
    assert [statement for statement in seen if statement.startswith("SELECT") and
            any(name in statement.split(" WHERE ")[0] for name in configuration)] == [], seen


@SQLITE_ONLY
def test_a_repeat_view_of_the_landing_page_reads_twice_and_writes_nothing(app, platform):
    course = factories.make_course("HIS1", "History")
    activity = factories.make_activity(course, "page", "Intro", content_html="<p>Read me</p>")
    browser, form = _returning_launch(app, platform, factories.make_resource(course, activity).uuid)
    landing = browser.post("/lti/launch", data=form).headers["Location"]
    assert browser.get(landing).status_code == 200
    with _statements() as seen:
        page = browser.get(landing)
    assert page.status_code == 200 and "Read me" in page.get_data(as_text=True)
    assert _counts(seen) == (2, 0, 0), seen  # the user; the activity with its course, completion and roles


@SQLITE_ONLY
@pytest.mark.parametrize("change, status", [
    ("UPDATE platform_registration SET status = 'pending'", 401),
    ("UPDATE published_resource SET enabled = 0", 404),
], ids=["registration deactivated", "resource disabled"])
def test_a_change_another_server_makes_refuses_the_next_launch(app, platform, change, status):
    """The configuration a process keeps follows a change made by another application server: the database's own
    triggers raise the configuration version that every request reads."""
    course = factories.make_course("HIS1", "History")
    browser, form = _returning_launch(app, platform, factories.make_resource(course).uuid)
    other_server = sqlite3.connect(db.engine.url.database)
    with other_server:
        other_server.execute(change)
    other_server.close()
    refused = browser.post("/lti/launch", data=form)
    assert refused.status_code == status, refused.get_data(as_text=True)


def test_a_returning_learners_launch_writes_what_changed(app, platform):
    """Records a launch would leave unchanged are not written again; a changed title is."""
    course = factories.make_course("HIS1", "History")
    resource_uuid = factories.make_resource(course).uuid
    for title in ("Biology 101", "Biology 101", "Biology 102"):
        browser = app.test_client()
        form = _launch_form(browser, platform, resource_uuid, context_title=title)
        assert browser.post("/lti/launch", data=form).status_code == 302
    contexts = db.session.execute(db.select(LtiContext)).scalars().all()
    assert [context.title for context in contexts] == ["Biology 102"]
    lti_user = db.session.execute(db.select(LtiUser)).scalar_one()
    assert lti_user.subject == "learner-1" and lti_user.last_access_at is not None


@SQLITE_ONLY
def test_a_changed_registration_reads_its_keyset_again(app, platform):
    """Editing a registration's platform details drops its cached keyset (the admin may be replacing keys): the
    keys a process parsed are used only while the registration stays as it was."""
    course = factories.make_course("HIS1", "History")
    browser, form = _returning_launch(app, platform, factories.make_resource(course).uuid)
    registration = db.session.execute(db.select(PlatformRegistration)).scalar_one()
    registration.name = "Test LMS (renamed)"
    db.session.commit()
    with _statements() as seen:
        assert browser.post("/lti/launch", data=form).status_code == 302
    assert any(statement.startswith("SELECT") and "FROM platform_keyset" in statement for statement in seen), seen


def test_a_returning_learner_with_a_second_role_row_still_lands(app, platform):
    """The one read joins the enrolment's role: an enrolment that carries two role rows (a course-level one and one
    on an activity the resource used to open) still makes one row, the launch's own role being kept."""
    course = factories.make_course("HIS1", "History")
    activity = factories.make_activity(course, "page", "Intro", content_html="<p>Read me</p>")
    other = factories.make_activity(course, "page", "Older page", content_html="<p>Old</p>")
    browser, form = _returning_launch(app, platform, factories.make_resource(course, activity).uuid)
    enrolment = db.session.execute(db.select(Enrolment)).scalar_one()
    db.session.add(RoleAssignment(enrolment_id=enrolment.id, user_id=enrolment.user_id, course_id=course.id,
                                  activity_id=other.id, role="student"))
    db.session.commit()
    launched = browser.post("/lti/launch", data=form)
    assert launched.status_code == 302, launched.get_data(as_text=True)
    assert browser.get(launched.headers["Location"]).status_code == 200
