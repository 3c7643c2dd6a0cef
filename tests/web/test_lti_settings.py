"""User default values, LTI settings, their CLI and the LTI admin navigation."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from app.models import SiteSetting
from app.services.platforms import settings
from app.services.accounts.profile import server_timezone, timezones
from tests.factories import make_user
from tests.helpers import csrf_token, login, post_form

INTRO = ("Publishing as LTI tools allows remote users to access selected courses and activities. In other words, "
         "Courseport functions as an LTI tool provider.")
FRAME_WARNING = ("Note: It is recommended that the site administration setting 'Allow frame embedding' is enabled, "
                 "so that tools are displayed within a frame rather than in a new window.")
SETTINGS_ROWS = [
    ("allow_frame_embedding", "Allow frame embedding",
     "If enabled, launched content is displayed inside the platform's frame. If disabled, launches show a link "
     "that opens the tool in a new window."),
    ("unknown_deployments", "Unknown deployments",
     "What happens when a registered platform launches from a deployment ID that has not been added. Held "
     "deployments appear on the registration's Deployments tab for an administrator to approve or ignore."),
    ("clock_leeway", "Clock leeway (seconds)",
     "Allowed difference between this server's clock and the platform's when checking token times."),
    ("registration_url_lifetime_days", "Registration URL lifetime (days)",
     "How long a dynamic registration URL stays valid. Each URL can be used once."),
    ("key_rotation_grace_days", "Key rotation grace period (days)",
     "How long a previous tool key stays published after rotation, so platforms that cached it keep working."),
    ("allow_account_creation", "Allow account creation from launches",
     "If disabled, the 'Create an account for me' option is never offered and automatic provisioning refuses "
     "new users."),
    ("allow_admin_linking", "Allow linking of site administrator accounts",
     "If disabled, a site administrator account cannot be linked to an LMS identity."),
    ("sync_interval_minutes", "Synchronisation interval (minutes)", "How often grade and user synchronisation run."),
    ("launch_log_retention_days", "Launch log retention (days)", None),
    ("additional_frame_ancestors", "Additional frame ancestors",
     "Extra origins (scheme://host[:port]) allowed to frame this site, for LMS pages served from another domain "
     "than the platform's issuer."),
]
VALID_SETTINGS = {"allow_frame_embedding": "0", "unknown_deployments": "reject", "clock_leeway": "120",
                  "registration_url_lifetime_days": "7", "key_rotation_grace_days": "30",
                  "allow_account_creation": "0", "allow_admin_linking": "1", "sync_interval_minutes": "15",
                  "launch_log_retention_days": "365",
                  "additional_frame_ancestors": "https://Canvas.School.example/\r\n\r\nhttp://127.0.0.1:8080\r\n"
                                                "https://*.instructure.com\r\nhttps://canvas.school.example"}
VALID_DEFAULTS = {"email_visibility": "1", "city": "Dunedin", "country": "NZ", "timezone": "Pacific/Auckland",
                  "lang": "en", "institution": "Otago Girls"}


@pytest.fixture
def admin_client(client, admin):
    login(client, "admin")
    return client


def text(html: str) -> str:
    return unescape(html)


def field_error(html: str, field: str) -> str | None:
    match = re.search(rf'id="{field}-error">([^<]*)<', html)
    return unescape(match.group(1)) if match else None


def stored_rows(db) -> int:
    return db.session.query(SiteSetting).count()


# --- access ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/admin/lti/defaults", "/admin/lti/settings"])
def test_anonymous_goes_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ["/admin/lti/defaults", "/admin/lti/settings"])
def test_non_admin_gets_403(client, db, path):
    make_user("teacher")
    login(client, "teacher")
    assert client.get(path).status_code == 403
    token = csrf_token(client, "/")
    assert client.post(path, data={"csrf_token": token, **VALID_SETTINGS, **VALID_DEFAULTS}).status_code == 403
    assert stored_rows(db) == 0


@pytest.mark.parametrize("path, data", [("/admin/lti/defaults", VALID_DEFAULTS),
                                        ("/admin/lti/settings", VALID_SETTINGS)])
def test_post_without_csrf_is_refused(admin_client, db, path, data):
    assert admin_client.post(path, data=data).status_code == 400
    assert stored_rows(db) == 0


# --- User default values ------------------------------------------------------------------------------------

def test_defaults_page(admin_client):
    html = text(admin_client.get("/admin/lti/defaults").get_data(as_text=True))
    assert INTRO in html and FRAME_WARNING not in html
    assert "<h1>User default values</h1>" in html
    for label in ("Email visibility", "City/town", "Select a country", "Timezone", "Preferred language",
                  "Institution"):
        assert f">{label}</label>" in html
    assert "This setting determines who can see the email address of accounts created by a launch." in html
    assert '<option value="0">Hidden</option>' in html and '<option value="1">Visible to everyone</option>' in html
    assert '<option selected value="2">Visible to course participants</option>' in html
    assert '<option selected value="">Select a country...</option>' in html
    assert '<option value="GB">United Kingdom</option>' in html
    assert len(re.findall(r'<select id="country".*?</select>', html, re.S)[0].split("<option")) - 1 == 250
    assert f'<option selected value="">Server timezone ({server_timezone()})</option>' in html
    zone_options = re.findall(r'<select id="timezone".*?</select>', html, re.S)[0].count("<option")
    assert zone_options == len(timezones()) + 1 and len(timezones()) > 400
    assert '<option value="Europe/London">Europe/London</option>' in html
    assert '<option selected value="en">English (en)</option>' in html
    assert ">Save changes</button>" in html


def test_defaults_warn_when_frame_embedding_is_off(admin_client, db):
    settings.save_lti_settings({"allow_frame_embedding": False})
    db.session.commit()
    assert FRAME_WARNING in text(admin_client.get("/admin/lti/defaults").get_data(as_text=True))


def test_save_defaults(admin_client, db):
    response = post_form(admin_client, "/admin/lti/defaults", VALID_DEFAULTS)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/lti/defaults"
    html = admin_client.get("/admin/lti/defaults").get_data(as_text=True)
    assert "Changes saved" in html
    assert '<option selected value="Pacific/Auckland">' in html and 'value="Dunedin"' in html
    db.session.expire_all()
    assert settings.user_defaults() == {"email_visibility": 1, "city": "Dunedin", "country": "NZ",
                                        "timezone": "Pacific/Auckland", "lang": "en", "institution": "Otago Girls"}


@pytest.mark.parametrize("changes, field, message", [
    ({"city": "c" * 121}, "city", "Maximum of 120 characters"),
    ({"institution": "i" * 41}, "institution", "Maximum of 40 characters"),
    ({"country": "ZZ"}, "country", "Select a country from the list (an ISO 3166 two-letter code such as GB)."),
    ({"timezone": "Europe/Atlantis"}, "timezone",
     "Select a timezone from the list (an IANA name such as Europe/London)."),
    ({"timezone": "localtime"}, "timezone", "Select a timezone from the list (an IANA name such as Europe/London)."),
    ({"email_visibility": "3"}, "email_visibility",
     "Select a valid choice: 0 (Hidden), 1 (Visible to everyone) or 2 (Visible to course participants)."),
    ({"lang": "de"}, "lang", "Select an installed language: en."),
])
def test_defaults_bad_input_saves_nothing(admin_client, db, changes, field, message):
    response = post_form(admin_client, "/admin/lti/defaults", {**VALID_DEFAULTS, **changes})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error(html, field) == message
    kept = "institution" if field == "city" else "city"
    assert f'value="{VALID_DEFAULTS[kept]}"' in html  # the admin's other input is shown again
    assert stored_rows(db) == 0


# --- LTI settings ---------------------------------------------------------------------------------------------

def test_settings_page_rows_defaults_and_help(admin_client):
    html = text(admin_client.get("/admin/lti/settings").get_data(as_text=True))
    assert "<h1>LTI settings</h1>" in html
    labels = re.findall(r'<label for="([a-z_]+)">([^<]+)</label>', html)
    assert labels == [(name, label) for name, label, _ in SETTINGS_ROWS]
    for name, _, help_text in SETTINGS_ROWS:
        if help_text:
            assert f'<p class="help" id="{name}-help">{help_text}</p>' in html
    selects = re.findall(r'<select[^>]* id="([a-z_]+)"[^>]*>(.*?)</select>', html, re.S)
    selected = {name: re.search(r'<option selected value="[^"]*">([^<]+)</option>', body).group(1)
                for name, body in selects}
    assert selected == {"allow_frame_embedding": "Yes", "unknown_deployments": "Hold for approval",
                        "allow_account_creation": "Yes", "allow_admin_linking": "No"}
    for name, value in (("clock_leeway", "60"), ("registration_url_lifetime_days", "14"),
                        ("key_rotation_grace_days", "14"), ("sync_interval_minutes", "30"),
                        ("launch_log_retention_days", "90")):
        assert re.search(rf'id="{name}"[^>]*value="{value}"', html), name
    assert re.search(r'<textarea[^>]*id="additional_frame_ancestors"[^>]*>\s*</textarea>', html)


def test_save_settings(admin_client, db):
    response = post_form(admin_client, "/admin/lti/settings", VALID_SETTINGS)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/lti/settings"
    html = admin_client.get("/admin/lti/settings").get_data(as_text=True)
    assert "Changes saved" in html
    assert "https://canvas.school.example\nhttp://127.0.0.1:8080\nhttps://*.instructure.com</textarea>" in html
    db.session.expire_all()
    assert settings.lti_settings() == {
        "allow_frame_embedding": False, "unknown_deployments": "reject", "clock_leeway": 120,
        "registration_url_lifetime_days": 7, "key_rotation_grace_days": 30, "allow_account_creation": False,
        "allow_admin_linking": True, "sync_interval_minutes": 15, "launch_log_retention_days": 365,
        "additional_frame_ancestors": ["https://canvas.school.example", "http://127.0.0.1:8080",
                                       "https://*.instructure.com"]}


@pytest.mark.parametrize("name, value, message", [
    ("clock_leeway", "301", "Enter a whole number between 0 and 300."),
    ("clock_leeway", "-1", "Enter a whole number between 0 and 300."),
    ("clock_leeway", "1.5", "Enter a whole number between 0 and 300."),
    ("clock_leeway", "", "Enter a whole number between 0 and 300."),
    ("registration_url_lifetime_days", "0", "Enter a whole number between 1 and 90."),
    ("key_rotation_grace_days", "91", "Enter a whole number between 1 and 90."),
    ("sync_interval_minutes", "4", "Enter a whole number between 5 and 1440."),
    ("sync_interval_minutes", "ten", "Enter a whole number between 5 and 1440."),
    ("launch_log_retention_days", "366", "Enter a whole number between 1 and 365."),
    ("additional_frame_ancestors", "https://ok.example\nnot a url", "Invalid origin: not a url"),
    ("additional_frame_ancestors", "https://lms.example/course/1", "Invalid origin: https://lms.example/course/1"),
    ("additional_frame_ancestors", "ftp://lms.example", "Invalid origin: ftp://lms.example"),
    ("additional_frame_ancestors", "https://lms.example; script-src *",
     "Invalid origin: https://lms.example; script-src *"),
    ("additional_frame_ancestors", "https://user@lms.example", "Invalid origin: https://user@lms.example"),
    ("additional_frame_ancestors", "https://lms.example:70000", "Invalid origin: https://lms.example:70000"),
    ("allow_frame_embedding", "maybe", "Enter Yes or No."),
    ("unknown_deployments", "accept", 'Select "Reject launches" (reject) or "Hold for approval" (hold).'),
])
def test_settings_bad_input_saves_nothing(admin_client, db, name, value, message):
    response = post_form(admin_client, "/admin/lti/settings", {**VALID_SETTINGS, name: value})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error(html, name) == message
    kept = "sync_interval_minutes" if name == "clock_leeway" else "clock_leeway"
    assert re.search(rf'id="{kept}"[^>]*value="{VALID_SETTINGS[kept]}"', html)  # other input is shown again
    assert stored_rows(db) == 0


# --- navigation -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, active", [("/admin/lti/defaults", "User default values"),
                                          ("/admin/lti/settings", "LTI settings")])
def test_lti_navigation_highlights_the_page(admin_client, path, active):
    html = admin_client.get(path).get_data(as_text=True)
    nav = re.search(r'<nav class="lti-admin-nav" aria-label="Publish as LTI tool">(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r'aria-current="page">([^<]+)</a>', nav) == [active]
    assert '<a href="/admin/lti/defaults"' in nav and '<a href="/admin/lti/settings"' in nav


def test_lti_navigation_partial_marks_sub_pages(app, admin):
    """Other admin pages include the partial; on a sub-page the section stays highlighted, but not as the page."""
    from flask import render_template_string
    from flask_login import login_user

    with app.test_request_context("/admin/lti/settings/somewhere"):
        login_user(admin)
        html = render_template_string('{% include "admin/_lti_nav.html" %}', lti_nav_active="LTI settings")
    assert '<a href="/admin/lti/settings" class="active" aria-current="true">LTI settings</a>' in html


# --- services used by forms and CLI ---------------------------------------------------------------------------

@pytest.mark.parametrize("line, origin", [
    ("https://LMS.example.org/", "https://lms.example.org"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("https://[::1]:8443", "https://[::1]:8443"),
    ("https://*.instructure.com", "https://*.instructure.com"),
    ("https://lms.example.org/path", None),
    ("https://lms.example.org?x=1", None),
    ("lms.example.org", None),
    ("https://lms example.org", None),
    ("https://*", None),
    ("https://lms.example.org:0", None),
])
def test_normalise_origin(line, origin):
    assert settings.normalise_origin(line) == origin


def test_unknown_setting_is_refused(app):
    with pytest.raises(settings.ValidationErrors) as raised:
        settings.update_lti_settings({"clock_leeway": "30", "no_such_thing": "1"})
    assert raised.value.errors == {"no_such_thing": settings.unknown_setting_message(
        "no_such_thing", settings.LTI_SETTINGS_DEFAULTS)}
    assert settings.lti_setting("clock_leeway") == 60


# --- CLI: lti settings|defaults show|set ----------------------------------------------------------------------

def test_cli_settings_show_json(runner):
    result = runner.invoke(args=["lti", "settings", "show", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == settings.LTI_SETTINGS_DEFAULTS


def test_cli_settings_set(runner, db):
    result = runner.invoke(args=["lti", "settings", "set", "clock_leeway", "45", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["clock_leeway"] == 45
    result = runner.invoke(args=["lti", "settings", "set", "allow_frame_embedding", "no"])
    assert result.exit_code == 0 and "Changes saved" in result.output
    result = runner.invoke(args=["lti", "settings", "set", "additional_frame_ancestors",
                                 "https://a.example\nhttps://B.example/"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert settings.lti_settings()["clock_leeway"] == 45
    assert settings.lti_setting("allow_frame_embedding") is False
    assert settings.lti_setting("additional_frame_ancestors") == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize("key, value, message", [
    ("clock_leeway", "500", "Enter a whole number between 0 and 300."),
    ("additional_frame_ancestors", "https://ok.example\njavascript:alert(1)", "Invalid origin: javascript:alert(1)"),
    ("allow_admin_linking", "perhaps", "Enter Yes or No."),
    ("nonsense", "1", settings.unknown_setting_message("nonsense", settings.LTI_SETTINGS_DEFAULTS)),
])
def test_cli_settings_set_refuses_bad_values(runner, db, key, value, message):
    result = runner.invoke(args=["lti", "settings", "set", key, value, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output) == {"error": message, "errors": {key: message}}
    result = runner.invoke(args=["lti", "settings", "set", key, value])
    assert result.exit_code == 1 and f"Error: {message}" in result.output
    assert stored_rows(db) == 0


def test_cli_defaults_show_and_set(runner, db):
    result = runner.invoke(args=["lti", "defaults", "show", "--json"])
    assert json.loads(result.output) == settings.USER_DEFAULTS_DEFAULTS
    result = runner.invoke(args=["lti", "defaults", "set", "country", "nz", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["country"] == "NZ"
    result = runner.invoke(args=["lti", "defaults", "show"])
    assert "country: NZ" in result.output


@pytest.mark.parametrize("key, value, message", [
    ("city", "c" * 121, "Maximum of 120 characters"),
    ("timezone", "Mars/Base", "Select a timezone from the list (an IANA name such as Europe/London)."),
    ("email_visibility", "9",
     "Select a valid choice: 0 (Hidden), 1 (Visible to everyone) or 2 (Visible to course participants)."),
    ("colour", "blue", settings.unknown_setting_message("colour", settings.USER_DEFAULTS_DEFAULTS)),
])
def test_cli_defaults_set_refuses_bad_values(runner, db, key, value, message):
    result = runner.invoke(args=["lti", "defaults", "set", key, value, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["error"] == message
    assert stored_rows(db) == 0
