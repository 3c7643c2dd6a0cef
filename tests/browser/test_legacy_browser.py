"""Legacy LTI screens in Debian's Chromium: launches auto-posted from an "LMS" page exactly as a consumer's
browser would send them, the Welcome page for an instructor, the LTI 2 registration result, the failure page and
the admin's list of legacy consumers."""
from __future__ import annotations

import html
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from app.extensions import db
from app.models import Activity, LtiIdentity
from tests import factories
from tests.e2e.legacy_consumer import ConsumerServer, launch_params, sign_launch

pytestmark = pytest.mark.browser
KEY = "browser-lms"


@pytest.fixture
def world(live_server):
    with live_server.app.app_context():
        course = factories.make_course("BIO", "Biology")
        quiz = Activity(course_id=course.id, type="quiz", name="Cells quiz", max_grade=Decimal("10"), position=1)
        db.session.add(quiz)
        db.session.commit()
        resource = factories.make_resource(course, legacy=True, name="Biology (legacy)")
        return {"course_id": course.id, "resource_id": resource.id, "secret": resource.secret,
                "token": resource.legacy_token}


def _auto_post(page, action: str, body: str) -> None:
    """What an LMS does: a page with a hidden form of the signed parameters, submitted on load."""
    fields = "".join(f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                     for name, value in parse_qsl(body, keep_blank_values=True))
    page.set_content(f'<form id="lti" method="post" action="{action}">{fields}</form>')
    page.eval_on_selector("#lti", "form => form.submit()")


def _launch(page, live_server, world, **params: str) -> None:
    url = f"{live_server.url}/lti/v1/launch/{world['resource_id']}"
    _auto_post(page, url, sign_launch(url, KEY, world["secret"], launch_params(**params)))


def test_instructor_creates_an_account_on_the_welcome_page_and_lands_in_the_course(page, live_server, world,
                                                                                   screenshot):
    _launch(page, live_server, world, user_id="teach-1", roles="Instructor")
    page.wait_for_url("**/lti/account/**")
    assert page.get_by_role("heading", name="Use existing account").is_visible()
    screenshot("legacy-welcome")
    page.get_by_role("button", name="Create an account for me").click()
    assert page.get_by_text("Your account has been created and is now ready to use.").is_visible()
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(f"**/course/{world['course_id']}")
    assert page.get_by_text("Biology").first.is_visible()
    screenshot("legacy-instructor-landed")
    with live_server.app.app_context():
        assert db.session.scalars(db.select(LtiIdentity)).one().issuer == f"urn:lti11:{KEY}"


def test_a_failed_launch_explains_itself(page, live_server, world, screenshot):
    url = f"{live_server.url}/lti/v1/launch/{world['resource_id']}"
    _auto_post(page, url, sign_launch(url, KEY, "not-the-secret", launch_params()))
    page.wait_for_url(url)
    assert page.get_by_role("heading", name="The tool could not be launched").is_visible()
    assert page.get_by_text("Failed request. Reason: OAuth signature check failed - perhaps an incorrect secret "
                            "or timestamp.").is_visible()
    assert page.get_by_text("Reference: ").is_visible()
    screenshot("legacy-launch-failed")


def test_lti2_registration_result_and_the_consumers_list(page, live_server, world, screenshot):
    consumer = ConsumerServer().start()
    try:
        consumer.secrets["reg-key"] = "reg-password"
        url = f"{live_server.url}/lti/v2/register/{world['resource_id']}/{world['token']}"
        body = "&".join(f"{name}={value}" for name, value in {
            "lti_message_type": "ToolProxyRegistrationRequest", "lti_version": "LTI-2p0", "reg_key": "reg-key",
            "reg_password": "reg-password", "tc_profile_url": f"{consumer.url}/profile",
            "launch_presentation_return_url": "https://lms.example.org/return"}.items())
        _auto_post(page, url, body)
        page.wait_for_url(url)
        assert page.get_by_role("heading", name="Successful registration").is_visible()
        continue_link = page.get_by_role("link", name="Continue")
        assert continue_link.get_attribute("href").startswith("https://lms.example.org/return?")
        screenshot("legacy-lti2-registered")
    finally:
        consumer.stop()
    _launch(page, live_server, world, user_id="stu-1")
    page.wait_for_url("**/course/**")
    page.context.clear_cookies()
    with live_server.app.app_context():
        factories.make_user("admin", admin=True, first_name="Ada", last_name="Admin")
    page.goto("/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("Password-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    page.goto("/admin/lti/consumers")
    table = page.get_by_role("table")
    assert table.get_by_role("columnheader", name="Consumer key").is_visible()
    assert table.get_by_role("cell", name=KEY).is_visible()
    assert table.get_by_role("cell", name="guid-from-lms-0001").is_visible()
    assert table.get_by_role("link", name="Biology (legacy)").first.is_visible()
    screenshot("legacy-consumers")
    table.get_by_role("link", name="Biology (legacy)").first.click()
    page.wait_for_url(f"**/course/{world['course_id']}/lti?tab=legacy")
