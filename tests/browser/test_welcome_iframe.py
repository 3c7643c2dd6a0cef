"""The Welcome prompt inside a real cross-site iframe: an LMS course page served on
`localhost` frames Courseport on `127.0.0.1`, and Debian's Chromium decides what happens to the cookies.

What Chromium does here: it blocks third-party cookies that are not partitioned. Over HTTPS Courseport's
cookie probe therefore finds only the `Partitioned` cookie working, sets its state and session cookies
`SameSite=None; Secure; Partitioned`, and the whole launch — Welcome page, login, link, landing — works inside
the frame. Over plain http the cookies are `SameSite=Lax`, which a cross-site frame never gets, so the launch
is refused with the cookie message (the probe is skipped on http by design). Both are tested.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import LtiIdentity
from tests import factories
from tests.browser.lms_frame import FramingLms, lms_frame_page, shot
from tests.e2e.lti_launcher import INSTRUCTOR, LinkSpec

pytestmark = pytest.mark.browser


class Lms(FramingLms):
    """Courseport (http or https on 127.0.0.1) and a platform whose pages are on localhost."""

    def __init__(self, tmp_path: Path, scheme: str) -> None:
        super().__init__(tmp_path, scheme)
        with self.app.app_context():
            factories.make_registration("School LMS", issuer=self.server.issuer, client_id=self.server.client_id,
                                        auth_request_url=f"{self.pages}/auth", jwks_url=self.platform.jwks_url)
            course = factories.make_course("HIS101", "History of Science")
            self.course_id = course.id
            self.resource_uuid = factories.make_resource(course).uuid
            factories.make_user("tess", first_name="Tess", last_name="Ter", email="tess@school.example")

    def course_page(self, sub: str) -> str:
        """The LMS course page: a resource link opened in an iframe, as LMSs place LTI tools."""
        hint = self.platform.add_link(LinkSpec(sub=sub, roles=INSTRUCTOR, resource_uuid=self.resource_uuid))
        login = f"{self.tool.url}/lti/login?" + urlencode({
            "iss": self.server.issuer, "login_hint": sub, "target_link_uri": f"{self.tool.url}/lti/launch",
            "lti_message_hint": hint, "client_id": self.server.client_id})
        path = f"/course-{sub}"
        self.server.handlers[path] = lambda request: Response(
            "<!doctype html><html><head><title>LMS course</title></head><body><h1>LMS: History of Science</h1>"
            f'<iframe id="tool" title="Courseport" src="{login}" width="1000" height="760"></iframe></body></html>',
            mimetype="text/html")
        return self.pages + path


@pytest.fixture
def lms_page(browser, tmp_path, request) -> Iterator[tuple[Lms, object]]:
    with lms_frame_page(browser, Lms(tmp_path, request.param), width=1100) as (lms, page):
        yield lms, page


@pytest.mark.parametrize("lms_page", ["https"], indirect=True)
def test_teacher_links_an_existing_account_inside_a_cross_site_iframe(lms_page):
    lms, page = lms_page
    page.goto(lms.course_page("teacher-1"))
    frame = page.frame_locator("#tool")
    frame.get_by_role("heading", name="Welcome!").wait_for()
    assert frame.get_by_text("I have an existing account").is_visible()
    assert frame.get_by_role("button", name="Create an account for me").is_visible()
    shot(page, "welcome-iframe-prompt")

    frame.get_by_label("Username").fill("tess")
    frame.get_by_label("Password").fill("not-her-password")
    frame.get_by_role("button", name="Log in").click()
    frame.get_by_text("Invalid login, please try again").wait_for()
    shot(page, "welcome-iframe-wrong-password")

    frame.get_by_label("Username").fill("tess")
    frame.get_by_label("Password").fill(factories.PASSWORD)
    frame.get_by_label("Password").press("Enter")
    frame.get_by_text("Your existing account has been successfully linked.").wait_for()
    shot(page, "welcome-iframe-linked")

    frame.get_by_role("link", name="Continue").click()
    frame.get_by_role("heading", name="History of Science").wait_for()
    shot(page, "welcome-iframe-landed")

    cookies = {cookie["name"]: cookie for cookie in page.context.cookies() if cookie["domain"] == "127.0.0.1"}
    assert cookies["session"]["sameSite"] == "None" and cookies["session"]["secure"]
    assert cookies["session"].get("partitionKey") == "http://localhost"
    with lms.app.app_context():
        identity = db.session.execute(select(LtiIdentity).where(LtiIdentity.subject == "teacher-1")).scalar_one()
        assert identity.user.username == "tess"


@pytest.mark.parametrize("lms_page", ["http"], indirect=True)
def test_plain_http_cross_site_frame_gets_no_cookies_and_says_so(lms_page):
    lms, page = lms_page
    page.goto(lms.course_page("teacher-2"))
    frame = page.frame_locator("#tool")
    frame.get_by_role("heading", name="The tool could not be launched").wait_for()
    assert frame.get_by_text("Please make sure you have cookies enabled in this browser").is_visible()
    shot(page, "welcome-iframe-http-cookies-blocked")
    assert [c for c in page.context.cookies() if c["domain"] == "127.0.0.1"] == []
