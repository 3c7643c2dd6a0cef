"""The admin's first hour in Debian's Chromium: failed forms, people's names, sync states, the LTI navigation,
copy fields and toasts, focus and badge contrast, the 403 page. Each changed page is photographed at 1280 and
390 px wide into test-artifacts/."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Activity
from app.services.launch import log as launch_log
from app.services.launch.log import Attempt
from tests.browser.steps import log_in
from tests.conftest import ARTIFACTS
from tests.factories import enrol, make_course, make_registration, make_resource, make_user

pytestmark = pytest.mark.browser

DANGER = "rgb(179, 38, 30)"


def _luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def style(locator, prop: str) -> str:
    return locator.evaluate(f"element => getComputedStyle(element).{prop}")


@pytest.fixture
def shots(page, screenshot):
    """A full-page picture at desktop width and at phone width, then back to desktop."""
    def take(name: str) -> None:
        for width, height in ((1280, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            screenshot(f"admin-{name}-{width}")
        page.set_viewport_size({"width": 1280, "height": 900})
    page.set_viewport_size({"width": 1280, "height": 900})
    return take


@pytest.fixture
def world(live_server):
    with live_server.app.app_context():
        make_user("admin", admin=True, first_name="Ada", last_name="Admin")
        teacher = make_user("teacher1", first_name="Tess", last_name="Teacher")
        course = make_course("PHYS1", "Physics 1")
        db.session.add(Activity(course_id=course.id, type="quiz", name="Forces quiz", position=1, max_grade=10))
        db.session.commit()
        enrol(teacher, course, "teacher")
        registration = make_registration("School Moodle")
        make_resource(course, grade_sync=True, member_sync=True)
        learner = make_user("lti13_7f11129c0d2e4b5a9c1e", first_name="Grace", last_name="Hopper")
        launch_log.record(launch_log.KIND_LAUNCH, launch_log.SUCCESS, Attempt(user_agent="x", ip="10.0.0.1"),
                          registration=registration, user_id=learner.id, subject="s-1", deployment_id="dep-1")
        db.session.commit()
        return {"course": course.id}


def test_a_failed_publish_form_points_at_each_bad_field(page, world, shots):
    log_in(page, "admin")
    page.goto(f"/course/{world['course']}/lti/new")
    page.get_by_label("Enable").first.check()
    page.get_by_label("Enrolment duration").fill("0")
    long_city = "Llanfairpwllgwyngyll " * 7
    page.get_by_label("City/town").fill(long_city)
    page.get_by_role("button", name="Add method").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["Enrolment duration", "City/town"])
    number, unit, city = page.locator("#enrol_period"), page.locator("#enrol_period_unit"), page.locator("#city")
    assert style(number, "borderTopColor") == DANGER
    assert style(unit, "borderTopColor") != DANGER
    assert style(city, "borderTopColor") == DANGER
    expect(page.locator("#city-error")).to_have_text("Maximum of 120 characters")
    expect(city).to_have_value(long_city)  # nothing cut off by the browser
    shots("publish-form-errors")

    summary.get_by_role("link", name="City/town").click()
    expect(city).to_be_focused()


def test_lti_settings_errors_mark_the_text_field_and_list_every_bad_origin(page, world, shots):
    log_in(page, "admin")
    page.goto("/admin/lti/settings")
    expect(page.get_by_role("heading", level=1)).to_have_text("LTI settings")
    page.get_by_label("Clock leeway (seconds)").fill("999")
    page.get_by_label("Additional frame ancestors").fill("not an origin\nhttps://ok.example\nftp://bad.example")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    assert style(page.get_by_label("Clock leeway (seconds)"), "borderTopColor") == DANGER
    expect(page.locator("#additional_frame_ancestors-error")).to_have_text(
        "Invalid origin: not an origin\nInvalid origin: ftp://bad.example", use_inner_text=True)
    shots("lti-settings-errors")


def test_lti_navigation_fits_one_line_and_each_page_has_its_own_heading(page, world, shots):
    log_in(page, "admin")
    page.goto("/admin/lti/consumers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Legacy consumers")
    nav = page.get_by_role("navigation", name="Publish as LTI tool")
    first = nav.get_by_role("link", name="User default values").bounding_box()
    last = nav.get_by_role("link", name="Legacy consumers").bounding_box()
    assert abs(first["y"] - last["y"]) < 1, "Legacy consumers wrapped onto a line of its own"
    shots("legacy-consumers")


def test_launch_log_names_people_and_aligns_its_filters(page, world, shots):
    log_in(page, "admin")
    page.goto("/admin/lti/launches")
    row = page.locator("tbody tr").first
    expect(row.locator(".person-name")).to_have_text("Grace Hopper")
    expect(row.locator(".person-username")).to_have_text("lti13_7f11129c0d2e4b5a9c1e")
    boxes = [page.locator(f"#filter-{name}").bounding_box() for name in ("outcome", "kind", "from", "to", "user")]
    boxes.append(page.get_by_role("button", name="Filter").bounding_box())
    assert max(box["y"] for box in boxes) - min(box["y"] for box in boxes) < 1
    assert max(box["height"] for box in boxes) - min(box["height"] for box in boxes) < 1
    shots("launch-log")
    page.goto("/admin/users")
    expect(page.locator("tbody tr", has_text="Grace Hopper").locator(".person-username")).to_have_text(
        "lti13_7f11129c0d2e4b5a9c1e")
    shots("users")


def test_copy_fields_show_whole_values_and_one_toast_beside_its_field(page, world, shots):
    log_in(page, "admin")
    page.goto("/admin/lti/registrations/new")
    page.get_by_label("Platform name").fill("District Canvas")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit registration")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        for field in page.locator("textarea.copy-input").all():
            clipped = field.evaluate(
                "area => area.scrollWidth > area.clientWidth || area.scrollHeight > area.clientHeight")
            assert not clipped, field.get_attribute("id")
    page.set_viewport_size({"width": 1280, "height": 900})

    names = ["Copy Registration URL", "Copy Tool URL", "Copy Initiate login URL", "Copy JWKS URL",
             "Copy Deep linking URL"]
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        page.get_by_role("button", name="Copy Tool URL").click()
        page.get_by_role("button", name="Copy Initiate login URL").click()
        toast = page.locator(".toast")
        expect(toast).to_have_count(1)
        expect(toast).to_have_text("Initiate login URL copied to clipboard")
        shown = toast.bounding_box()
        for name in names:
            button = page.get_by_role("button", name=name).bounding_box()
            overlaps = (shown["x"] < button["x"] + button["width"] and button["x"] < shown["x"] + shown["width"]
                        and shown["y"] < button["y"] + button["height"] and button["y"] < shown["y"] + shown["height"])
            assert not overlaps, f"the toast covers {name} at {width} px"
        # The viewport only: a full-page picture resizes the window, which takes a placed toast away.
        page.screenshot(path=str(ARTIFACTS / f"admin-copy-toast-{width}.png"))
    shots("registration-tool-details")


def test_badges_and_focus_ring_are_readable(page, world):
    log_in(page, "admin")
    page.goto("/admin/users")
    badge = page.locator(".badge-success").first
    assert contrast(style(badge, "color"), style(badge, "backgroundColor")) >= 4.5
    page.locator("main a").first.focus()
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    assert style(focused, "outlineStyle") == "solid"
    assert contrast(style(focused, "outlineColor"), "rgb(255, 255, 255)") >= 3


def test_sync_states_jobs_and_the_403_page(page, world, shots):
    log_in(page, "admin")
    page.goto(f"/course/{world['course']}/lti")
    sync = page.locator("td.sync-cell").first
    expect(sync).to_contain_text("Grades: Waiting for the first launch")
    expect(sync).to_contain_text("Users: Waiting for the first launch")
    shots("course-tools")
    page.goto("/admin/lti/jobs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sync jobs")
    expect(page.get_by_role("button", name="Retry all failed")).to_have_count(0)
    shots("sync-jobs")

    page.context.clear_cookies()
    log_in(page, "teacher1")
    response = page.goto("/admin/lti/settings")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_have_text(
        "You do not have permission to open this page. If you need it, ask a site administrator or the teacher of "
        "the course.")
    shots("403")
    page.get_by_role("link", name="Go to My courses").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My courses")
