"""Tool registration in a real browser (Debian Chromium): register, copy URLs, fill details, deployments, keys,
guides, and dynamic registration inside a platform's iframe. Screenshots go to test-artifacts/."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import PlatformRegistration
from app.services.platforms import registrations as platforms
from tests.e2e.platform_server import PlatformServer
from tests.factories import make_registration, make_user

pytestmark = pytest.mark.browser

COPY_FIELDS = ["Registration URL", "Tool URL", "Initiate login URL", "JWKS URL", "Deep linking URL"]


@pytest.fixture
def admin_page(page, live_server):
    with live_server.app.app_context():
        make_user("admin", admin=True, first_name="Ada", last_name="Admin")
    page.goto("/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("Password-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    return page


def copy_and_check(page, label: str) -> str:
    """Click the copy button after the field labelled `label`; the toast and the clipboard must agree."""
    field = page.get_by_label(label, exact=True)
    value = field.input_value()
    field.locator("xpath=following-sibling::button").click()
    expect(page.locator(".toast", has_text=f"{label} copied to clipboard")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == value
    return value


def test_manual_registration_from_start_to_active(admin_page, live_server, screenshot):
    page = admin_page
    page.goto("/admin/lti/registrations")
    expect(page.get_by_text("No registered platforms")).to_be_visible()
    expect(page.locator(".lti-admin-nav a.active")).to_have_text("Tool registration")
    screenshot("registrations-empty")

    page.get_by_role("link", name="Register a platform").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#name-error")).to_have_text("Required")
    screenshot("registrations-new-invalid")
    page.get_by_label("Platform name").fill("Campus Moodle")
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/admin/lti/registrations/\d+\?tab=tooldetails$"))
    expect(page.get_by_role("heading", name="Edit registration")).to_be_visible()
    expect(page.locator("#tab-tooldetails")).to_have_attribute("aria-current", "page")
    copied = {label: copy_and_check(page, label) for label in COPY_FIELDS}
    base = live_server.url
    assert copied["Tool URL"] == f"{base}/lti/launch"
    assert re.fullmatch(rf"{re.escape(base)}/lti/login\?id=[0-9a-f]{{60}}", copied["Initiate login URL"])
    assert copied["JWKS URL"] == f"{base}/lti/jwks"
    assert copied["Deep linking URL"] == f"{base}/lti/deeplink"
    assert copied["Registration URL"].startswith(f"{base}/lti/register?token=")
    expect(page.locator(".toast").first).to_be_visible()
    screenshot("registration-tool-details")

    page.goto("/admin/lti/registrations")
    row = page.get_by_role("row", name=re.compile("Campus Moodle"))
    expect(row.get_by_text("Pending")).to_be_visible()
    row.get_by_role("link", name="View platform details").click()
    expect(page.locator("#platformdetails")).to_be_visible()
    expect(page.locator("#tooldetails")).to_be_hidden()
    screenshot("registration-platform-details-empty")

    page.get_by_role("link", name="Edit platform details").click()
    page.get_by_label("Platform ID (issuer)").fill("moodle.example.org")
    page.get_by_label("Client ID").fill("Kj3n2m")
    page.get_by_label("Authentication request URL").fill("https://moodle.example.org/mod/lti/auth.php")
    page.get_by_label("Public keyset URL").fill("https://moodle.example.org/mod/lti/certs.php")
    page.get_by_label("Access token URL").fill("https://moodle.example.org/mod/lti/token.php")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#issuer-error")).to_have_text("Invalid URL. Have you included http:// or https://?")
    screenshot("registration-edit-invalid")
    page.get_by_label("Platform ID (issuer)").fill("https://moodle.example.org")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Platform registration updated")).to_be_visible()
    expect(page.locator("#platformdetails")).to_contain_text("https://moodle.example.org/mod/lti/certs.php")
    expect(page.get_by_role("button", name="Test connection")).to_be_visible()
    screenshot("registration-platform-details")

    page.get_by_role("link", name="Deployments").click()  # switches in place
    expect(page.locator("#tooldeployments")).to_be_visible()
    expect(page).to_have_url(re.compile(r"tab=tooldeployments"))
    expect(page.get_by_text("No tool deployments found")).to_be_visible()
    page.get_by_role("link", name="Add a deployment").click()
    page.get_by_label("Deployment name").fill("Whole site")
    page.get_by_label("Deployment ID").fill("1")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Deployment added")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Whole site"))).to_contain_text("1")
    screenshot("registration-deployments")

    page.get_by_role("link", name="Back").click()
    row = page.get_by_role("row", name=re.compile("Campus Moodle"))
    expect(row.get_by_text("Active")).to_be_visible()
    expect(row).to_contain_text("Platform ID (issuer): https://moodle.example.org")
    expect(row.get_by_role("link", name="1", exact=True)).to_have_attribute("title", "Manage deployments")
    screenshot("registrations-active")


def test_pending_approval_keys_guides_and_delete(admin_page, live_server, screenshot):
    page = admin_page
    with live_server.app.app_context():
        registration = make_registration("Canvas Cloud", issuer="https://canvas.instructure.com",
                                         client_id="10000000000042", deployment_ids=("42:abc",))
        platforms.note_unknown_deployment(registration, "77:def", "History 10")
        platforms.note_unknown_deployment(registration, "88:spam", None)
        db.session.commit()
        registration_id = registration.id

    page.goto("/admin/lti/registrations")
    page.get_by_role("link", name="2 pending approval").click()
    expect(page.get_by_role("heading", name="Pending approval")).to_be_visible()
    screenshot("registration-pending-approval")
    page.get_by_role("row", name=re.compile("88:spam")).get_by_role("button", name="Ignore").click()
    expect(page.get_by_text("Deployment ignored")).to_be_visible()
    page.get_by_role("row", name=re.compile("77:def")).get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Deployment approved")).to_be_visible()
    expect(page.get_by_role("heading", name="Pending approval")).to_have_count(0)
    page.get_by_text("Ignored (1)").click()
    expect(page.get_by_role("row", name=re.compile("88:spam")).get_by_role("button", name="Approve")).to_be_visible()
    screenshot("registration-deployments-approved")
    page.get_by_role("row", name=re.compile("42:abc")).get_by_role("link", name="Delete").click()
    expect(page.get_by_text("Are you sure you want to delete deployment ID '42:abc'?", exact=False)).to_be_visible()
    screenshot("deployment-delete")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Deployment deleted")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("42:abc"))).to_have_count(0)

    page.goto("/admin/lti/keys")
    kids = page.locator("tbody code").all_inner_texts()
    assert len(kids) == 2
    next_kid = page.get_by_role("row", name=re.compile("Next")).locator("code").inner_text()
    screenshot("keys")
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Rotate keys").click()
    expect(page.get_by_text(f"Keys rotated. New signing key: {next_kid}.")).to_be_visible()
    assert messages == ["Rotating makes the next key current for signing. The current key stays published for 14 days "
                        "so platforms that cached it keep working. Continue?"]
    expect(page.get_by_role("row", name=re.compile("Previous"))).to_contain_text("Yes")
    screenshot("keys-rotated")

    page.goto("/admin/lti/guides")
    expect(page.locator(".lti-admin-nav a.active")).to_have_text("Setup guides")
    screenshot("guides-index")
    page.get_by_role("link", name="Canvas guide for Canvas Cloud").click()
    expect(page.get_by_text("Menu names can differ between versions of Canvas.")).to_be_visible()
    assert copy_and_check(page, "JWKS URL") == f"{live_server.url}/lti/jwks"
    screenshot("guide-canvas")

    page.goto(f"/admin/lti/registrations/{registration_id}/delete")
    expect(page.get_by_text("Are you sure you want to delete the registration for the platform 'Canvas Cloud'? "
                            "This will also remove all tool deployments stored against this registration.")).to_be_visible()
    screenshot("registration-delete")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Platform registration deleted")).to_be_visible()
    expect(page.get_by_text("No registered platforms")).to_be_visible()


def received_messages(platform: PlatformServer) -> list[dict]:
    return [json.loads(request.body) for request in platform.requests_to("/messages", "POST")]


def test_dynamic_registration_in_the_platform_iframe(admin_page, live_server, screenshot):
    page = admin_page
    page.goto("/admin/lti/registrations/new")
    page.get_by_label("Platform name").fill("Iframe LMS")
    page.get_by_role("button", name="Continue").click()
    registration_url = page.get_by_label("Registration URL", exact=True).input_value()

    with PlatformServer() as platform:
        start = platform.registration_start_url(registration_url, registration_token="opaque token/+=")
        page.goto(f"{platform.url}/tool-window?src={quote(start, safe='')}")
        frame = page.frame_locator("#tool")
        expect(frame.get_by_text("Registration complete. You can close this window.")).to_be_visible()
        expect(page.locator("#received li")).to_have_text('{"subject":"org.imsglobal.lti.close"}')
        screenshot("dynreg-complete-in-iframe")
        assert received_messages(platform)[0] == {"origin": live_server.url,
                                                  "data": {"subject": "org.imsglobal.lti.close"}}
        assert platform.requests_to("/register")[0].header("Authorization") == "Bearer opaque token/+="

        # The same URL again: refused, shown in the platform's window, and Close still tells the platform.
        page.goto(f"{platform.url}/tool-window?src={quote(start, safe='')}")
        expect(frame.get_by_text("Invalid or expired registration URL. Please check the URL and try again.")) \
            .to_be_visible()
        expect(page.locator("#received li")).to_have_count(0)
        frame.get_by_role("button", name="Close").click()
        expect(page.locator("#received li")).to_have_text('{"subject":"org.imsglobal.lti.close"}')
        screenshot("dynreg-error-in-iframe")

        # The new registration works: Test connection gets the platform's keys and a token for our key.
        platform.tool_jwks_url = f"{live_server.url}/lti/jwks"
        page.goto("/admin/lti/registrations")
        page.get_by_role("row", name=re.compile("Iframe LMS")).get_by_role("link", name="View platform details").click()
        page.get_by_role("button", name="Test connection").click()
        result = page.locator("#test-result")
        expect(result.get_by_role("row", name=re.compile("Fetch the platform's public keyset"))).to_contain_text(
            "OK — 1 key(s) found:")
        expect(result.get_by_role("row", name=re.compile("Request an access token"))).to_contain_text(
            "OK — the platform issued a token (expires in 3600 seconds;")
        screenshot("registration-test-connection")

    with live_server.app.app_context():
        registration = db.session.execute(db.select(PlatformRegistration)).scalar_one()
        assert (registration.status, registration.client_id) == ("active", "courseport-client")
    page.goto("/admin/lti/registrations")
    expect(page.get_by_role("row", name=re.compile("Iframe LMS")).get_by_text("Active")).to_be_visible()
    page.get_by_role("row", name=re.compile("Iframe LMS")).get_by_role("link", name="View tool endpoints").click()
    expect(page.get_by_text("This registration is complete. Dynamic registration is no longer available for it."))\
        .to_be_visible()
    screenshot("registration-tool-details-complete")


def test_declaring_a_re_registration_the_same_platform(admin_page, live_server, screenshot):
    with live_server.app.app_context():
        old = make_registration("Canvas (2024)", issuer="https://canvas.example", client_id="100")
        new = make_registration("Canvas (2026)", issuer="https://canvas.example", client_id="200")
        make_registration("Moodle", issuer="https://moodle.example")
        old_id, new_id = old.id, new.id
    page = admin_page
    page.goto(f"/admin/lti/registrations/{new_id}?tab=platformdetails")
    expect(page.get_by_role("heading", name="Platform identity")).to_be_visible()
    choice = page.get_by_label("Same platform as …")
    expect(choice.locator("option")).to_have_text(["Canvas (2024) (client ID 100)"])  # same issuer only
    screenshot("registration-same-platform-choice")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("LMS users linked through either registration will sign in to the same accounts")) \
        .to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("'Canvas (2026)' is now the same platform as 'Canvas (2024)'")).to_be_visible()
    expect(page.get_by_role("link", name="Canvas (2024)")).to_be_visible()
    with live_server.app.app_context():
        keys = {registration.id: registration.platform_key for registration in
                db.session.scalars(db.select(PlatformRegistration))}
        assert keys[old_id] == keys[new_id]
