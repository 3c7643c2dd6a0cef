"""Impersonation across credentials, end to end over HTTP: an LTI 1.1 launch signed (oauthlib Client) with
another resource's secret, and an LTI 1.3 launch from a second registration sharing the issuer (lti1p3platform,
its own client ID and keys), name a user linked through the first. Neither signs in as that user: each is a
stranger who must prove an account on the Welcome page, and the linked account's course stays out of reach."""
from __future__ import annotations

import html

import requests
from sqlalchemy import select

from app.extensions import db
from app.models import LtiIdentity
from tests import factories
from tests.e2e.legacy_consumer import launch_params, sign_launch
from tests.e2e.lti_launcher import INSTRUCTOR, Browser, LaunchPlatform, LinkSpec
from tests.e2e.platform_server import PlatformServer
from tests.helpers import CSRF_RE

STRANGER = "Log in to link your existing account."
LOGIN_FIRST = "Please log in to access this page."


def _link(browser, welcome_url: str, username: str) -> None:
    token = CSRF_RE.search(browser.get(welcome_url).text).group(1)
    linked = browser.post(welcome_url + "?action=login", {"csrf_token": token, "username": username,
                                                          "password": factories.PASSWORD})
    assert linked.status_code == 302, linked.text


def _assert_refused_as(browser, live_server, welcome_url: str, course_id: int) -> None:
    """The launch is a stranger's: the Welcome page asks for an account, and the linked teacher's course is not
    this browser's."""
    assert welcome_url.startswith("/lti/account/")
    assert STRANGER in html.unescape(browser.get(welcome_url).text)
    course = browser.get(f"/course/{course_id}")
    assert course.status_code == 302 and course.headers["Location"].startswith("/login")
    assert LOGIN_FIRST in html.unescape(browser.get(course.headers["Location"]).text)


class _LegacyBrowser(Browser):
    def launch11(self, resource_id: int, key: str, secret: str, **params: str) -> requests.Response:
        url = f"{self.tool_url}/lti/v1/launch/{resource_id}"
        return self.session.post(url, data=sign_launch(url, key, secret, launch_params(**params)),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"},
                                 allow_redirects=False, timeout=10)


def test_lti11_another_resources_secret_cannot_sign_in_as_a_linked_teacher(live_server):
    with live_server.app.app_context():
        genuine = factories.make_resource(factories.make_course("BIO", "Biology"), legacy=True)
        attacker = factories.make_resource(factories.make_course("ART", "Art"), legacy=True,
                                           secret="AttackerChosenSecret123")
        teacher2 = factories.make_user("teacher2")
        factories.make_user("teacher1")
        ids = (genuine.id, genuine.secret, genuine.course_id, attacker.id, teacher2.id)
    genuine_id, genuine_secret, course_id, attacker_id, teacher2_id = ids

    lms_y = _LegacyBrowser(live_server.url)
    welcome = lms_y.launch11(genuine_id, "lms-y-key", genuine_secret, user_id="y-teacher-42", roles="Instructor")
    _link(lms_y, welcome.headers["Location"], "teacher2")
    relaunch = _LegacyBrowser(live_server.url).launch11(genuine_id, "lms-y-key", genuine_secret,
                                                         user_id="y-teacher-42", roles="Instructor")
    assert relaunch.headers["Location"] == f"/course/{course_id}"

    teacher1 = _LegacyBrowser(live_server.url)
    forged = teacher1.launch11(attacker_id, "lms-y-key", "AttackerChosenSecret123", user_id="y-teacher-42",
                               roles="Instructor")
    assert forged.status_code == 302
    _assert_refused_as(teacher1, live_server, forged.headers["Location"], course_id)
    with live_server.app.app_context():
        bound = db.session.scalars(select(LtiIdentity).where(LtiIdentity.subject == "y-teacher-42")).all()
        assert [identity.user_id for identity in bound] == [teacher2_id]


def test_lti13_second_registration_with_the_same_issuer_cannot_sign_in_as_a_linked_teacher(live_server):
    with PlatformServer(client_id="school-a") as first, PlatformServer(client_id="school-b") as second:
        second.issuer = first.issuer  # Canvas Cloud: one issuer, a client ID and keyset per institution
        school_a, school_b = LaunchPlatform(first, live_server.url), LaunchPlatform(second, live_server.url)
        with live_server.app.app_context():
            for platform, name in ((school_a, "School A"), (school_b, "School B")):
                factories.make_registration(name, issuer=platform.issuer, client_id=platform.client_id,
                                            auth_request_url=platform.auth_url, jwks_url=platform.jwks_url)
            resource = factories.make_resource(factories.make_course("HIS", "History"))
            teacher2_id = factories.make_user("teacher2").id
            uuid, course_id = resource.uuid, resource.course_id

        browser = Browser(live_server.url)
        hint = school_a.add_link(LinkSpec(sub="t-42", roles=INSTRUCTOR, resource_uuid=uuid))
        _link(browser, browser.launch(school_a, hint).launch.headers["Location"], "teacher2")
        again = Browser(live_server.url)
        assert again.launch(school_a, school_a.add_link(LinkSpec(sub="t-42", roles=INSTRUCTOR,
                                                                 resource_uuid=uuid))).launch.headers["Location"] \
            == f"/course/{course_id}"

        intruder = Browser(live_server.url)
        result = intruder.launch(school_b, school_b.add_link(LinkSpec(sub="t-42", roles=INSTRUCTOR,
                                                                      resource_uuid=uuid)))
        assert result.launch.status_code == 302
        assert school_b.issued[-1]["aud"] in ("school-b", ["school-b"])  # signed by School B's own key
        _assert_refused_as(intruder, live_server, result.launch.headers["Location"], course_id)
        with live_server.app.app_context():
            bound = db.session.scalars(select(LtiIdentity).where(LtiIdentity.subject == "t-42")).all()
            assert [identity.user_id for identity in bound] == [teacher2_id]
