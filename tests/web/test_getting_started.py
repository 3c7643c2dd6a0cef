"""The site admin's home page: the Getting started checklist follows the site's state step by step, and pages
that give out URLs for an LMS warn while COURSEPORT_BASE_URL is a loopback or plain-http address."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.jobs import sweeps
from app.lti.errors import launch_error
from app.models import PlatformRegistration
from app.services.launch import log as launch_log
from app.services.launch.log import Attempt
from app.services.platforms.site_address import site_address
from tests import factories
from tests.conftest import make_app
from tests.helpers import login

STEP_RE = re.compile(r'<li class="setup-step (is-done|is-todo)" data-step="(\w+)">')
WARNING = "An LMS cannot use this site's URLs yet."


def steps(client) -> dict[str, bool]:
    body = client.get("/").get_data(as_text=True)
    return {key: state == "is-done" for state, key in STEP_RE.findall(body)}


def test_each_step_turns_done_as_the_site_gets_there(app, client, admin):
    login(client, "admin")
    home = client.get("/").get_data(as_text=True)
    assert "Getting started" in home and "0 of 5 steps done" in home
    assert WARNING in home and "COURSEPORT_BASE_URL" in home and "COURSEPORT_PROXY_FIX=1" in home
    assert "it is a loopback address" in home and "LTI 1.3 platforms require https" in home
    assert 'href="/admin/lti/registrations">Register a platform</a>' in home
    assert steps(client) == {"address": False, "register": False, "publish": False, "launch": False, "worker": False}

    db.session.add(PlatformRegistration(name="Canvas", login_id="l-1"))
    db.session.commit()
    assert "1 registration still waiting for the platform&#39;s details." in client.get("/").get_data(as_text=True)
    assert steps(client)["register"] is False

    registration = factories.make_registration("Moodle")
    course = factories.make_course("PHYS1")
    assert steps(client)["register"] is True
    assert 'Register a platform</a>' not in client.get("/").get_data(as_text=True)

    resource = factories.make_resource(course)
    assert steps(client)["publish"] is True

    attempt = Attempt(user_agent="test", ip="10.0.0.1")
    launch_log.record_failure(launch_log.KIND_LAUNCH, launch_error(
        "registration_not_found", iss="https://unknown.example", client_id="zz", detail="."), attempt)
    launch_log.record(launch_log.KIND_LOGIN, launch_log.SUCCESS, attempt, registration=registration)
    db.session.commit()
    assert steps(client)["launch"] is False, "a login alone is not a launch"
    assert "No successful launch yet; 1 failed attempt in the launch log." in client.get("/").get_data(as_text=True)
    launch_log.record(launch_log.KIND_LAUNCH, launch_log.SUCCESS, attempt, registration=registration,
                      deployment_id="deployment-1", subject="s-1")
    db.session.commit()
    assert steps(client)["launch"] is True and resource.id

    sweeps.heartbeat()
    db.session.commit()
    assert steps(client) == {"address": False, "register": True, "publish": True, "launch": True, "worker": True}


def test_an_https_public_address_completes_the_list_and_drops_the_warnings(tmp_path):
    app = make_app(tmp_path, COURSEPORT_BASE_URL="https://courses.school.example")
    with app.app_context():
        factories.make_user("admin", admin=True)
        registration = factories.make_registration("Moodle")
        factories.make_resource(factories.make_course("PHYS1"))
        launch_log.record(launch_log.KIND_LTI11_LAUNCH, launch_log.SUCCESS, Attempt(user_agent="t", ip="1.2.3.4"),
                          consumer_key="key")
        sweeps.heartbeat()
        db.session.commit()
        client = app.test_client()
        login(client, "admin")
        home = client.get("/").get_data(as_text=True)
        assert "5 of 5 steps done: this site is ready for LTI launches." in home and WARNING not in home
        for path in ("/admin/lti/registrations", "/admin/lti/registrations/new", "/admin/lti/guides",
                     f"/admin/lti/registrations/{registration.id}?tab=tooldetails",
                     f"/admin/lti/registrations/{registration.id}/guide/moodle"):
            assert WARNING not in client.get(path).get_data(as_text=True), path
        db.session.remove()
        db.engine.dispose()


def test_registration_screens_and_guides_warn_about_a_local_address(app, client, admin):
    registration = factories.make_registration("Moodle")
    login(client, "admin")
    for path in ("/admin/lti/registrations", "/admin/lti/registrations/new", "/admin/lti/guides",
                 f"/admin/lti/registrations/{registration.id}?tab=tooldetails",
                 f"/admin/lti/registrations/{registration.id}/guide/moodle",
                 f"/admin/lti/registrations/{registration.id}/guide/canvas"):
        body = client.get(path).get_data(as_text=True)
        assert WARNING in body and "<code>http://127.0.0.1:5000</code>" in body, path
        assert "<code>COURSEPORT_PROXY_FIX=1</code>" in body, path


def test_people_who_are_not_site_admins_see_no_checklist_and_everyone_gets_a_courses_link(app, client):
    factories.make_user("teacher")
    login(client, "teacher")
    home = client.get("/").get_data(as_text=True)
    assert "Getting started" not in home
    assert '<a href="/courses">Courses</a>' in home


@pytest.mark.parametrize("url, loopback, https", [
    ("http://127.0.0.1:5000", True, False),
    ("http://localhost:8000", True, False),
    ("https://localhost", True, True),
    ("http://courses.localhost", True, False),
    ("http://[::1]:5000", True, False),
    ("http://127.8.0.1", True, False),
    ("http://0.0.0.0:5000", True, False),
    ("http://courses.school.example", False, False),
    ("http://10.0.0.5", False, False),
    ("https://courses.school.example/moodle-tools", False, True),
])
def test_site_address_tells_loopback_and_plain_http(url, loopback, https):
    address = site_address(url)
    assert (address.loopback, address.https, address.usable) == (loopback, https, https and not loopback)
