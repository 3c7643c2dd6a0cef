"""The Published content page inside an LMS frame in Debian's Chromium: the checkbox coupling
both ways, single choice, and "Add content" auto-posting the signed response to the platform's return URL."""
import pytest
from playwright.sync_api import expect

from tests.e2e.deep_link_platform import LEARNER, DeepLinkingRequest, LmsPlatform, LmsUser
from tests.e2e.deep_link_world import bind, build_catalogue
from tests.e2e.platform_server import PlatformServer

pytestmark = pytest.mark.browser

TEACHER = LmsUser("lms-teacher-1")


@pytest.fixture
def lms(live_server):
    with PlatformServer(client_id="lms-client") as server:
        with live_server.app.app_context():
            catalogue = build_catalogue(issuer=server.issuer, client_id=server.client_id, platform_url=server.url)
            bind(catalogue.teacher_id, server.issuer, TEACHER.sub)
        yield LmsPlatform(server, live_server.url, catalogue.login_id), catalogue


def _open_in_lms(page, platform: LmsPlatform, message: DeepLinkingRequest, user: LmsUser = TEACHER):
    """"Select content" in the LMS: the tool opens in the course page's iframe."""
    page.goto(platform.course_page(platform.login_url(user, message)))
    frame = page.frame_locator("#tool")
    expect(frame.get_by_role("heading", name="Published content")).to_be_visible()
    return frame


def test_coupling_and_add_content_reach_the_platform(page, screenshot, lms):
    platform, _catalogue = lms
    frame = _open_in_lms(page, platform, DeepLinkingRequest(data="lms-course-1"))
    form = frame.get_by_role("form", name="Published content")
    expect(form.get_by_role("columnheader", name="Add to gradebook")).to_be_visible()
    quiz_course, quiz_gradebook = frame.get_by_label("Add Cells quiz to course"), \
        frame.get_by_label("Add Cells quiz to gradebook")

    quiz_gradebook.check()  # ticking the gradebook also ticks the course
    expect(quiz_course).to_be_checked()
    quiz_course.uncheck()  # unticking the course unticks the gradebook
    expect(quiz_gradebook).not_to_be_checked()
    expect(frame.get_by_label("Add Reading to gradebook")).to_have_count(0)  # a page shows "-"

    frame.get_by_label("Add Biology 101 to gradebook").check()
    frame.get_by_label("Add Reading to course").check()
    quiz_gradebook.check()
    expect(frame.get_by_label("Add Biology 101 to course")).to_be_checked()
    screenshot("deep-link-01-selection")

    frame.get_by_role("button", name="Add content").click()
    expect(frame.locator("#received")).to_have_text("The platform received 3 item(s).")
    screenshot("deep-link-02-returned-to-platform")
    (received,) = platform.returns
    assert received.error is None
    assert [(item["title"], "lineItem" in item) for item in received.content_items] == [
        ("Biology 101", True), ("Cells quiz", True), ("Reading", False)]
    assert received.claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "lms-course-1"


def test_single_choice_keeps_one_row_and_its_gradebook_box(page, screenshot, lms):
    platform, _catalogue = lms
    frame = _open_in_lms(page, platform, DeepLinkingRequest(settings={"accept_multiple": False}))
    cells, lab = frame.get_by_label("Add Cells quiz to course"), frame.get_by_label("Add Lab report to course")
    expect(cells).to_have_attribute("type", "radio")

    frame.get_by_label("Add Cells quiz to gradebook").check()
    expect(cells).to_be_checked()
    frame.get_by_label("Add Lab report to gradebook").check()  # picks Lab report, so Cells quiz loses both
    expect(lab).to_be_checked()
    expect(cells).not_to_be_checked()
    expect(frame.get_by_label("Add Cells quiz to gradebook")).not_to_be_checked()
    lab.press("ArrowUp")  # keyboard: the radio group moves to the previous row, Lab report's column goes
    expect(frame.get_by_label("Add Reading to course")).to_be_checked()
    expect(frame.get_by_label("Add Lab report to gradebook")).not_to_be_checked()
    screenshot("deep-link-03-single-choice")

    frame.get_by_role("button", name="Add content").click()
    expect(frame.locator("#received")).to_have_text("The platform received 1 item(s).")
    assert [item["title"] for item in platform.returns[0].content_items] == ["Reading"]


def test_a_learner_has_nothing_to_pick_and_cancel_answers_the_platform(page, screenshot, lms, live_server):
    platform, catalogue = lms
    student = LmsUser("lms-student-1", roles=[LEARNER], name="Sam Student")
    with live_server.app.app_context():
        bind(catalogue.student_id, platform.issuer, student.sub)
    frame = _open_in_lms(page, platform, DeepLinkingRequest(), student)
    expect(frame.get_by_text("No resources or activities are published yet")).to_be_visible()
    expect(frame.get_by_role("checkbox")).to_have_count(0)
    screenshot("deep-link-04-nothing-to-pick")
    frame.get_by_role("button", name="Cancel").click()
    expect(frame.locator("#received")).to_have_text("The platform received 0 item(s).")
    assert platform.returns[0].error is None and platform.returns[0].content_items == []
