"""A teacher publishes a course and an activity, copies launch details, publishes a legacy tool, and disables and
re-enables a resource, in Debian's Chromium."""
import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Activity, PublishedResource
from tests.factories import enrol, make_course, make_registration, make_resource, make_user
from tests.browser.steps import log_in

pytestmark = pytest.mark.browser



@pytest.fixture
def course_id(live_server):
    with live_server.app.app_context():
        teacher = make_user("teacher1", first_name="Tess", last_name="Teacher")
        course = make_course("PHYS1", "Physics 1")
        db.session.add(Activity(course_id=course.id, type="quiz", name="Forces quiz", position=1, max_grade=10))
        db.session.commit()
        enrol(teacher, course, "teacher")
        make_registration("School Moodle")
        return course.id


def _row(page, name: str):
    return page.locator("tbody tr").filter(has_text=name)


def test_teacher_publishes_copies_and_toggles(page, live_server, screenshot, course_id):
    base = live_server.url
    log_in(page, "teacher1")
    page.goto(f"/course/{course_id}/lti")
    expect(page.get_by_role("heading", name="Course: Physics 1")).to_be_visible()
    expect(page.get_by_text("No resources or activities are published yet")).to_be_visible()
    screenshot("publishing-01-empty-advantage")

    # Publish the whole course, seeing the form's dependent fields switch as a teacher would.
    page.get_by_role("link", name="Add", exact=True).click()
    expect(page.get_by_role("heading", name="Publish as LTI tool")).to_be_visible()
    expect(page.get_by_label("Secret")).to_be_hidden()
    registrations = page.get_by_label("Registrations", exact=True)
    expect(registrations).to_be_disabled()
    page.get_by_label("Selected registrations").check()
    expect(registrations).to_be_enabled()
    page.get_by_label("All registered platforms").check()
    expect(registrations).to_be_disabled()
    start = page.get_by_role("group", name="Start date")
    expect(start.get_by_label("Start date")).to_be_disabled()
    start.get_by_label("Enable").check()
    expect(start.get_by_label("Start date")).to_be_enabled()
    start.get_by_label("Enable").uncheck()
    page.get_by_label("Grade synchronisation", exact=True).select_option(label="No")
    expect(page.get_by_label("Require course or activity completion prior to grade synchronisation")).to_be_disabled()
    page.get_by_label("Grade synchronisation", exact=True).select_option(label="Yes")
    page.get_by_label("User synchronisation", exact=True).select_option(label="No")
    expect(page.get_by_label("User synchronisation mode")).to_be_disabled()
    page.get_by_label("User synchronisation", exact=True).select_option(label="Yes")
    page.get_by_text("Show more...").click()
    expect(page.get_by_label("Institution")).to_be_visible()
    screenshot("publishing-02-form-advantage")
    page.get_by_label("Custom instance name").fill("Physics for Moodle")
    page.get_by_label("Maximum enrolled users").fill("-1")
    page.get_by_role("button", name="Add method").click()
    expect(page.get_by_text("Enter zero or a positive whole number.")).to_be_visible()
    screenshot("publishing-03-form-error")
    page.get_by_label("Maximum enrolled users").fill("30")
    page.get_by_role("button", name="Add method").click()
    expect(page.get_by_text("Changes saved")).to_be_visible()

    # Publish the quiz.
    page.get_by_role("link", name="Add", exact=True).click()
    page.get_by_label("Tool to be published").select_option(label="Forces quiz")
    page.get_by_role("button", name="Add method").click()
    expect(page.get_by_text("Changes saved")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(2)
    screenshot("publishing-04-advantage-table")

    with live_server.app.app_context():
        quiz_uuid = db.session.execute(db.select(PublishedResource.uuid).where(
            PublishedResource.target == "activity")).scalar_one()
    quiz_row = _row(page, "Forces quiz")
    quiz_row.get_by_role("button", name="Copy Launch URL").click()
    expect(page.get_by_text("Launch URL copied to clipboard")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == f"{base}/lti/launch"
    quiz_row.get_by_role("button", name="Copy Custom properties").click()
    expect(page.get_by_text("Custom properties copied to clipboard")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == f"id={quiz_uuid}"
    screenshot("publishing-05-copied")

    # The Legacy tab, and a legacy publication of the course.
    page.get_by_role("link", name="Legacy LTI (1.1/2.0)").click()
    expect(page.get_by_text("Legacy LTI (1.1/2.0) tools are deprecated.")).to_be_visible()
    expect(page.get_by_text("No tools provided")).to_be_visible()
    screenshot("publishing-06-empty-legacy")
    page.get_by_role("link", name="Add", exact=True).click()
    expect(page.get_by_label("LTI version")).to_have_value("legacy")
    expect(page.get_by_label("Secret")).to_be_visible()
    expect(page.get_by_text("Available to")).to_be_hidden()
    page.get_by_label("Secret").fill("bad secret!")
    page.get_by_role("button", name="Add method").click()
    expect(page.get_by_text("Only letters and digits are allowed.")).to_be_visible()
    page.get_by_label("Secret").fill("LegacySecret2024")
    page.get_by_label("Custom instance name").fill("Physics 1.1")
    screenshot("publishing-07-form-legacy")
    page.get_by_role("button", name="Add method").click()
    expect(page.get_by_text("Changes saved")).to_be_visible()
    assert page.url.endswith("?tab=legacy")
    legacy_row = _row(page, "Physics 1.1")
    expect(legacy_row.get_by_label("Secret", exact=True)).to_have_value("LegacySecret2024")
    legacy_row.get_by_role("button", name="Copy Cartridge URL").click()
    expect(page.get_by_text("Cartridge URL copied to clipboard")).to_be_visible()
    cartridge = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(rf"{re.escape(base)}/lti/v1/cartridge/\d+/[0-9a-f]{{32}}\.xml", cartridge)
    screenshot("publishing-08-legacy-table")

    # Disable and re-enable it.
    legacy_row.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Published resource disabled.")).to_be_visible()
    expect(_row(page, "Physics 1.1")).to_have_class(re.compile("dimmed"))
    screenshot("publishing-09-disabled")
    _row(page, "Physics 1.1").get_by_role("button", name="Enable").click()
    expect(page.get_by_text("Published resource enabled.")).to_be_visible()
    expect(_row(page, "Physics 1.1")).not_to_have_class(re.compile("dimmed"))

    # Delete asks first; Cancel keeps it, Continue removes it.
    _row(page, "Physics 1.1").get_by_role("link", name="Delete").click()
    expect(page.get_by_text('You are about to delete the published resource "Physics 1.1". Are you sure you want to '
                            'continue?')).to_be_visible()
    screenshot("publishing-10-delete-confirm")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Published resource deleted.")).to_be_visible()
    expect(page.get_by_text("No tools provided")).to_be_visible()


def test_non_editing_teacher_and_admin_views(page, live_server, screenshot, course_id):
    with live_server.app.app_context():
        from app.models import Course
        from app.services.courses.content import delete_activity

        course = db.session.get(Course, course_id)
        viewer = make_user("assistant", first_name="Nia", last_name="Noneditor")
        enrol(viewer, course, "noneditingteacher")
        make_user("admin", admin=True, first_name="Ada", last_name="Admin")
        legacy = make_resource(course, legacy=True, name="Shared via LTI 1.1")
        make_resource(course, course.activities[0], name="Quiz (disabled)", enabled=False)
        reading = Activity(course_id=course.id, type="page", name="Reading", position=2)
        db.session.add(reading)
        db.session.commit()
        make_resource(course, reading, name="Reading for Canvas")
        delete_activity(reading)
        db.session.commit()
        secret = legacy.secret
    log_in(page, "assistant")
    page.goto(f"/course/{course_id}/lti")
    deleted = _row(page, "Reading for Canvas")
    expect(deleted).to_contain_text("Deleted activity")
    expect(deleted).to_have_class(re.compile("dimmed"))
    deleted.get_by_role("button", name="The activity shared by this instance has been deleted").click()
    expect(page.get_by_text("You can select another activity to share by editing the instance")).to_be_visible()
    screenshot("publishing-13-deleted-activity")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Help with Launch details").click()
    expect(page.get_by_text("The launch URL and custom properties are only required")).to_be_visible()
    screenshot("publishing-14-help-popover")
    page.goto(f"/course/{course_id}/lti?tab=legacy")
    expect(page.get_by_text("••••••••")).to_be_visible()
    assert secret not in page.content()
    expect(page.get_by_role("link", name="Add", exact=True)).to_have_count(0)
    screenshot("publishing-11-noneditor-legacy")
    page.get_by_role("button", name="Log out").click()

    log_in(page, "admin")
    page.goto("/admin/lti/published")
    expect(page.get_by_role("heading", name="Published resources")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(3)
    page.get_by_label("Status").select_option(label="Disabled")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("tbody tr").filter(has_text="Deleted activity")).to_contain_text("Reading for Canvas")
    expect(page.locator("tbody tr").filter(has_text="Quiz (disabled)")).to_have_count(1)
    screenshot("publishing-12-admin-published")
