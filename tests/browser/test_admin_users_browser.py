"""An admin manages users and LTI site settings in Debian's Chromium."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import AUTH_LTI, LtiIdentity, User
from app.services.platforms import settings
from tests.factories import make_user
from tests.browser.steps import log_in

pytestmark = pytest.mark.browser


def row(page: Page, username: str):
    """The user's row: the list names people and shows the username as secondary text."""
    return page.get_by_role("row").filter(has=page.locator(".person-username").get_by_text(username, exact=True))


def test_admin_creates_edits_suspends_and_resets_a_user(page, live_server, browser, screenshot):
    with live_server.app.app_context():
        make_user("admin", admin=True, first_name="Ada", last_name="Admin")
    log_in(page, "admin")
    page.get_by_role("link", name="Site administration").click()
    page.get_by_role("link", name="Browse list of users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_role("link", name="Add a new user").click()

    page.get_by_label("Username").fill("Maria.K")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Email", exact=True).fill("maria@school")
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Kowalski")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("Passwords must be at least 8 characters long.")).to_be_visible()
    expect(page.get_by_text("Invalid email address")).to_be_visible()
    screenshot("admin-users-create-errors")

    page.get_by_label("Password", exact=True).fill("Maria-pass-1")
    page.get_by_label("Email", exact=True).fill("maria@school.example")
    page.get_by_label("Select a country").select_option(label="Poland")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("User maria.k created")).to_be_visible()
    expect(row(page, "maria.k")).to_contain_text("Maria Kowalski")
    expect(row(page, "maria.k")).to_contain_text("Manual accounts")

    row(page, "maria.k").get_by_role("link", name="Edit").click()
    page.get_by_label("Last name").fill("Kowalska")
    page.get_by_label("City/town").fill("Kraków")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved")).to_be_visible()
    expect(row(page, "maria.k")).to_contain_text("Maria Kowalska")

    row(page, "maria.k").get_by_role("button", name="Suspend maria.k").click()
    expect(page.get_by_text("User maria.k suspended")).to_be_visible()
    expect(row(page, "maria.k").get_by_text("Suspended", exact=True)).to_be_visible()
    screenshot("admin-users-list-suspended")

    row(page, "maria.k").get_by_role("link", name="Reset password").click()
    page.get_by_label("New password").fill("Fresh-pass-42")
    page.get_by_role("button", name="Reset password").click()
    expect(page.get_by_text("Password reset for maria.k")).to_be_visible()
    row(page, "maria.k").get_by_role("button", name="Unsuspend maria.k").click()
    expect(row(page, "maria.k").get_by_text("Active", exact=True)).to_be_visible()

    # The person can now sign in with the new password, in a browser of their own.
    context = browser.new_context(base_url=live_server.url)
    try:
        other = context.new_page()
        log_in(other, "maria.k", "Fresh-pass-42")
        expect(other.get_by_text("Maria Kowalska")).to_be_visible()
    finally:
        context.close()

    page.get_by_role("searchbox", name="Search users").fill("kowal")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 user matching")).to_be_visible()
    expect(row(page, "maria.k")).to_contain_text(re.compile(r"\d{2} \w+ \d{4}, \d{2}:\d{2}"))
    screenshot("admin-users-search")


def test_admin_cannot_suspend_themselves_in_the_form(page, live_server, screenshot):
    with live_server.app.app_context():
        admin = make_user("admin", admin=True, first_name="Ada", last_name="Admin")
        admin_id = admin.id
    log_in(page, "admin")
    page.goto(f"/admin/users/{admin_id}/edit")
    page.get_by_label("Site administrator").uncheck()
    page.get_by_label("Suspended", exact=True).check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("You cannot change this for your own account.")).to_have_count(2)
    screenshot("admin-users-self-change-refused")


def test_admin_unlinks_an_lms_identity(page, live_server, screenshot):
    with live_server.app.app_context():
        make_user("admin", admin=True, first_name="Ada", last_name="Admin")
        user = User(username="lti13_5f2a", first_name="Lars", last_name="Launch", email="lars@lms.example",
                    auth_method=AUTH_LTI)
        db.session.add(user)
        db.session.flush()
        db.session.add(LtiIdentity(user_id=user.id, scope="lti13:browser-test", issuer="https://moodle.school.example",
                                   subject="1207"))
        db.session.commit()
    log_in(page, "admin")
    page.goto("/admin/users")
    expect(row(page, "lti13_5f2a")).to_contain_text("LTI")
    expect(row(page, "lti13_5f2a").get_by_role("link", name="Reset password")).to_have_count(0)
    row(page, "lti13_5f2a").get_by_role("link", name="Edit").click()
    expect(page.locator("input[type=password]")).to_have_count(0)
    identities = page.get_by_role("table")
    expect(identities).to_contain_text("https://moodle.school.example")
    screenshot("admin-users-lti-account")

    identities.get_by_role("link", name="Unlink").click()
    expect(page.get_by_text("Unlink this LMS identity? The next launch by this person will go through "
                            "first-launch provisioning again.")).to_be_visible()
    screenshot("admin-users-unlink-confirm")
    page.get_by_role("button", name="Unlink").click()
    expect(page.get_by_text("LMS identity unlinked")).to_be_visible()
    expect(page.get_by_text("No LMS identity is linked to this account.")).to_be_visible()
    with live_server.app.app_context():
        assert db.session.query(LtiIdentity).count() == 0


def test_admin_changes_an_lti_setting_and_a_user_default(page, live_server, screenshot):
    with live_server.app.app_context():
        make_user("admin", admin=True, first_name="Ada", last_name="Admin")
    log_in(page, "admin")
    page.get_by_role("link", name="Site administration").click()
    page.get_by_role("link", name="LTI settings").click()
    nav = page.get_by_role("navigation", name="Publish as LTI tool")
    expect(nav.get_by_role("link", name="LTI settings")).to_have_attribute("aria-current", "page")

    page.get_by_label("Clock leeway (seconds)").fill("500")
    page.get_by_label("Additional frame ancestors").fill("https://canvas.school.example\nnot an origin")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Enter a whole number between 0 and 300.")).to_be_visible()
    expect(page.get_by_text("Invalid origin: not an origin")).to_be_visible()
    screenshot("lti-settings-errors")

    page.get_by_label("Clock leeway (seconds)").fill("90")
    page.get_by_label("Additional frame ancestors").fill("https://canvas.school.example")
    page.get_by_label("Allow frame embedding").select_option(label="No")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved")).to_be_visible()
    expect(page.get_by_label("Clock leeway (seconds)")).to_have_value("90")
    screenshot("lti-settings-saved")

    nav.get_by_role("link", name="User default values").click()
    expect(page.get_by_text("Note: It is recommended that the site administration setting 'Allow frame "
                            "embedding' is enabled")).to_be_visible()
    page.get_by_label("Email visibility").select_option(label="Hidden")
    page.get_by_label("City/town").fill("Lyon")
    page.get_by_label("Select a country").select_option(label="France")
    page.get_by_label("Timezone").select_option("Europe/Paris")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved")).to_be_visible()
    expect(page.get_by_label("Timezone")).to_have_value("Europe/Paris")
    screenshot("lti-user-defaults-saved")

    with live_server.app.app_context():
        db.session.expire_all()
        assert settings.lti_setting("clock_leeway") == 90
        assert settings.lti_setting("additional_frame_ancestors") == ["https://canvas.school.example"]
        assert settings.user_defaults() == {"email_visibility": 0, "city": "Lyon", "country": "FR",
                                            "timezone": "Europe/Paris", "lang": "en", "institution": ""}
