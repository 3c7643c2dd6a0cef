"""The admin's first hour: shared page pieces (trails, tables, headings) and what a failed form, a list of
people, a sync column or a refusal tells the admin."""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from app.extensions import db
from app.models import LtiUser, SyncJob
from app.models.base import utcnow
from app.services.launch import log as launch_log
from app.services.launch.log import Attempt
from tests.factories import make_registration, make_resource, make_user
from tests.helpers import login, post_form
from tests.web.publishing_helpers import course_with_staff, form_payload

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

LTI_ADMIN_PAGES = {
    "/admin/lti/defaults": "User default values",
    "/admin/lti/settings": "LTI settings",
    "/admin/lti/registrations": "Registered platforms",
    "/admin/lti/registrations/new": "Register a platform",
    "/admin/lti/keys": "Tool keys",
    "/admin/lti/published": "Published resources",
    "/admin/lti/launches": "Launch log",
    "/admin/lti/jobs": "Sync jobs",
    "/admin/lti/guides": "Setup guides",
    "/admin/lti/consumers": "Legacy consumers",
}


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _crumbs(html: str) -> list[str]:
    trail = re.search(r'<nav aria-label="Breadcrumb" class="breadcrumbs">(.*?)</nav>', html, re.S).group(1)
    return [_text(item).strip() for item in re.findall(r"<li>(.*?)</li>", trail, re.S)]


@pytest.fixture
def admin_client(client, admin):
    login(client, "admin")
    return client


# --- shared pieces --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, title", LTI_ADMIN_PAGES.items())
def test_every_lti_admin_page_is_headed_by_its_own_name_under_one_trail(admin_client, path, title):
    html = admin_client.get(path).get_data(as_text=True)
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S) == [title]
    assert _crumbs(html)[:2] == ["Site administration", "Publish as LTI tool"]
    assert _crumbs(html)[-1] in (title, "Tool registration", "Register a platform")


def test_course_trails_start_at_courses(admin_client):
    setup = course_with_staff()
    resource = make_resource(setup.course)
    for path in (f"/course/{setup.course.id}/lti", f"/course/{setup.course.id}/lti/new",
                 f"/course/{setup.course.id}/lti/{resource.id}/sync", f"/course/{setup.course.id}/participants"):
        crumbs = _crumbs(admin_client.get(path).get_data(as_text=True))
        assert crumbs[:2] == ["Courses", "Physics 1"], path


@pytest.mark.parametrize("path, empty", [
    ("/admin/lti/jobs", "No sync jobs to show."),
    ("/admin/lti/published", "No published resources match."),
    ("/admin/lti/consumers", "No legacy consumer has launched or registered a resource yet."),
    ("/admin/lti/registrations", "No registered platforms"),
    ("/courses", "No courses yet."),
])
def test_an_empty_list_keeps_its_header_row_and_says_so(admin_client, path, empty):
    html = admin_client.get(path).get_data(as_text=True)
    table = re.search(r"<table[^>]*>(.*?)</table>", html, re.S).group(1)
    assert re.search(r'<thead><tr>(<th scope="col">.+?</th>)+</tr></thead>', table)
    assert re.search(rf'<tr class="empty-row"><td colspan="\d+">{re.escape(empty)}</td></tr>', table)


def test_forms_get_their_csrf_token_from_one_macro():
    hand_written = [str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")
                    if 'name="csrf_token"' in path.read_text() and path.name != "forms.html"]
    assert hand_written == []


# --- forms that come back with errors -----------------------------------------------------------------------

def _post_settings(client, **changes: str):
    """LTI settings with two bad frame-ancestor lines among good ones, and `changes`."""
    return post_form(client, "/admin/lti/settings", {
        "allow_frame_embedding": "1", "unknown_deployments": "hold", "clock_leeway": "60",
        "registration_url_lifetime_days": "14", "key_rotation_grace_days": "14", "allow_account_creation": "1",
        "allow_admin_linking": "0", "sync_interval_minutes": "30", "launch_log_retention_days": "90",
        "additional_frame_ancestors": "not an origin\nhttps://ok.example\nftp://bad.example", **changes})


def test_a_failed_form_starts_with_a_summary_linking_to_each_bad_field(admin_client):
    response = _post_settings(admin_client, clock_leeway="999")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary" tabindex="-1" data-error-summary[^>]*>(.*?)</div>', html, re.S)
    assert summary, "no error summary"
    links = dict(re.findall(r'<a href="#([^"]+)">(.*?)</a>', summary.group(1), re.S))
    assert set(links) == {"clock_leeway", "additional_frame_ancestors"}
    assert links["clock_leeway"] == "Clock leeway (seconds)"
    assert html.index("data-error-summary") < html.index('<form method="post" action="/admin/lti/settings"')
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="clock_leeway"|<input[^>]*id="clock_leeway"[^>]*'
                     r'aria-invalid="true"', html)


def test_every_bad_frame_ancestor_line_is_reported(admin_client):
    response = _post_settings(admin_client, clock_leeway="60")
    error = re.search(r'<p class="field-error" id="additional_frame_ancestors-error">(.*?)</p>',
                      response.get_data(as_text=True), re.S).group(1)
    assert unescape(error).splitlines() == ["Invalid origin: not an origin", "Invalid origin: ftp://bad.example"]


def test_publish_form_puts_the_duration_error_on_the_number_not_its_unit(admin_client):
    setup = course_with_staff()
    response = post_form(admin_client, f"/course/{setup.course.id}/lti/new",
                         form_payload(enrol_period_enabled="y", enrol_period="abc"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    number = re.search(r'<input[^>]*id="enrol_period"[^>]*>', html).group(0)
    unit = re.search(r'<select[^>]*id="enrol_period_unit"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in number and 'aria-invalid' not in unit
    assert 'href="#enrol_period"' in html


def test_a_long_city_gets_a_message_instead_of_being_cut(admin_client):
    setup = course_with_staff()
    html = admin_client.get(f"/course/{setup.course.id}/lti/new").get_data(as_text=True)
    assert "maxlength" not in re.search(r'<input[^>]*id="city"[^>]*>', html).group(0)
    response = post_form(admin_client, f"/course/{setup.course.id}/lti/new", form_payload(city="x" * 121))
    assert response.status_code == 400
    assert re.search(r'id="city-error">Maximum of 120 characters</p>', response.get_data(as_text=True))


# --- people, sync states, buttons, refusals -----------------------------------------------------------------

def test_people_are_listed_by_name_with_the_username_as_secondary_text(admin_client):
    learner = make_user("lti13_7f11129c0d2e4b5a9c", first_name="Grace", last_name="Hopper")
    registration = make_registration("Moodle school")
    launch_log.record(launch_log.KIND_LAUNCH, launch_log.SUCCESS, Attempt(user_agent="x", ip="10.0.0.1"),
                      registration=registration, user_id=learner.id, subject="s-1")
    db.session.commit()
    expected = ('<span class="person-name">Grace Hopper</span><span class="person-username muted">'
                'lti13_7f11129c0d2e4b5a9c</span>')
    for path in ("/admin/users", "/admin/lti/launches"):
        assert expected in admin_client.get(path).get_data(as_text=True), path


def _sync_cell(client, course_id: int, resource_id: int) -> str:
    html = client.get(f"/course/{course_id}/lti").get_data(as_text=True)
    row = re.search(rf'<tr id="resource-{resource_id}".*?</tr>', html, re.S).group(0)
    return _text(re.search(r'<td class="sync-cell">(.*?)</td>', row, re.S).group(1)).strip()


def test_sync_column_says_ok_only_after_a_sync_ran(admin_client):
    setup = course_with_staff()
    resource = make_resource(setup.course, grade_sync=True, member_sync=True)
    assert _sync_cell(admin_client, setup.course.id, resource.id) == (
        "Grades: Waiting for the first launch Users: Waiting for the first launch")
    db.session.add(LtiUser(user_id=setup.student.id, published_resource_id=resource.id, subject="s1",
                           last_access_at=utcnow()))
    db.session.commit()
    assert _sync_cell(admin_client, setup.course.id, resource.id) == "Grades: Not synced yet Users: Not synced yet"
    db.session.add(SyncJob(kind="member_sync", dedupe_key="m1", status="done", published_resource_id=resource.id,
                           finished_at=utcnow()))
    db.session.commit()
    assert _sync_cell(admin_client, setup.course.id, resource.id) == "Grades: Not synced yet Users: OK"


def test_retry_all_failed_shows_only_when_a_job_failed(admin_client):
    assert "Retry all failed" not in admin_client.get("/admin/lti/jobs").get_data(as_text=True)
    db.session.add(SyncJob(kind="member_sync", dedupe_key="m1", status="failed", last_error="HTTP 500"))
    db.session.commit()
    assert "Retry all failed" in admin_client.get("/admin/lti/jobs?status=all").get_data(as_text=True)


def test_the_403_page_explains_in_our_words_and_leads_home(client):
    make_user("student")
    login(client, "student")
    response = client.get("/admin/lti/settings")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "You do not have permission to open this page." in html
    assert "read-protected" not in html  # Werkzeug's own wording
    assert '<a class="btn btn-secondary" href="/">Go to My courses</a>' in html


def test_each_copy_button_is_named_after_its_field(admin_client):
    registration = make_registration("Moodle school")
    html = admin_client.get(f"/admin/lti/registrations/{registration.id}?tab=tooldetails").get_data(as_text=True)
    names = re.findall(r'<button[^>]*class="btn btn-secondary btn-copy"[^>]*aria-label="([^"]+)"', html)
    assert names == ["Copy Tool URL", "Copy Initiate login URL", "Copy JWKS URL", "Copy Deep linking URL",
                     "Copy Canvas JSON URL"]
