"""The "Welcome!" account prompt: linking only with a password proven in the launch's own
browser session, creation only when offered, and the refusals. Launches come from a real lti1p3platform
platform (its JWKS over HTTP); the browser is the Flask test client."""
from __future__ import annotations

import html
from typing import Iterator

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import LtiIdentity, User
from app.models.tools import PROVISION_PROMPT_EXISTING
from app.services.platforms.settings import save_lti_settings
from tests import factories
from tests.e2e.lti_launcher import INSTRUCTOR, LaunchPlatform, launch_in_test_client
from tests.helpers import CSRF_RE, login
from tests.web.lti_platform import BASE, registered_platform


@pytest.fixture
def platform(app) -> Iterator[LaunchPlatform]:
    with registered_platform() as launch_platform:
        yield launch_platform


@pytest.fixture
def course_resource(app):
    course = factories.make_course("HIS1", "History")
    return factories.make_resource(course)


def prompted(client, platform: LaunchPlatform, resource, sub: str = "t-1") -> str:
    """Run a teacher's first launch in this client; returns the Welcome page path it is sent to."""
    launch = launch_in_test_client(client, platform, resource.uuid, sub, INSTRUCTOR, BASE)
    assert launch.status_code == 302, launch.get_data(as_text=True)
    return launch.headers["Location"]


def _token(client, path: str) -> str:
    return CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)


def _bound_to(issuer: str, subject: str) -> int | None:
    db.session.expire_all()
    identity = db.session.execute(select(LtiIdentity).where(
        LtiIdentity.issuer == issuer, LtiIdentity.subject == subject)).scalar_one_or_none()
    return identity.user_id if identity else None


def test_signed_in_manual_account_links_with_its_password(client, platform, course_resource):
    teacher = factories.make_user("tess", first_name="Tess", last_name="Ter", email="tess@school.example")
    login(client, "tess")
    welcome = prompted(client, platform, course_resource)
    page = client.get(welcome)
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and 'class="layout-embedded"' in text
    assert "You are currently logged in as:" in text and "Tess Ter (tess@school.example)" in text
    assert "Enter the password of this account to confirm the link." in text
    assert "Link this account" in text and "Not you? Log in with another account" in text
    frame_ancestors = page.headers["Content-Security-Policy"].split("frame-ancestors ")[1]
    assert platform.server.url in frame_ancestors

    token = _token(client, welcome)
    wrong = client.post(welcome + "?action=link", data={"csrf_token": token, "password": "nope-nope"})
    assert wrong.status_code == 400 and "Invalid login, please try again" in wrong.get_data(as_text=True)
    assert _bound_to(platform.issuer, "t-1") is None

    linked = client.post(welcome + "?action=link", data={"csrf_token": token, "password": factories.PASSWORD})
    assert linked.status_code == 302
    done = client.get(linked.headers["Location"]).get_data(as_text=True)
    assert "Your existing account has been successfully linked." in done and "Continue" in done
    assert _bound_to(platform.issuer, "t-1") == teacher.id


def test_not_you_signs_out_and_shows_the_login_form(client, platform, course_resource):
    factories.make_user("tess")
    login(client, "tess")
    welcome = prompted(client, platform, course_resource)
    switched = client.post(welcome + "?action=switch", data={"csrf_token": _token(client, welcome)})
    assert switched.status_code == 302
    text = client.get(welcome).get_data(as_text=True)
    assert "Log in to link your existing account." in text and "You are currently logged in as:" not in text


def test_create_an_account_for_me(client, platform, course_resource):
    welcome = prompted(client, platform, course_resource, sub="t-new")
    created = client.post(welcome + "?action=create", data={"csrf_token": _token(client, welcome)})
    assert created.status_code == 302
    assert "Your account has been created and is now ready to use." in \
        client.get(created.headers["Location"]).get_data(as_text=True)
    user = db.session.get(User, _bound_to(platform.issuer, "t-new"))
    assert user.auth_method == "lti" and user.username.startswith("lti13_")
    landing = client.get(welcome.replace("/lti/account/", "/lti/launch/"))
    assert landing.headers["Location"] == f"/course/{course_resource.course_id}"


def test_creation_is_not_offered_when_the_site_disallows_it(client, platform, course_resource):
    save_lti_settings({"allow_account_creation": False})
    db.session.commit()
    welcome = prompted(client, platform, course_resource)
    assert "Create an account for me" not in client.get(welcome).get_data(as_text=True)
    forged = client.post(welcome + "?action=create", data={"csrf_token": _token(client, welcome)})
    assert forged.status_code == 403
    assert "Account creation is currently prohibited on this site." in forged.get_data(as_text=True)
    assert _bound_to(platform.issuer, "t-1") is None


@pytest.mark.parametrize("kind", ["lti", "suspended"])
def test_lti_and_suspended_accounts_cannot_be_linked(client, platform, course_resource, kind):
    user = factories.make_user("victim")
    if kind == "lti":
        user.auth_method = "lti"
    else:
        user.suspended = True
    db.session.commit()
    welcome = prompted(client, platform, course_resource)
    response = client.post(welcome + "?action=login", data={"csrf_token": _token(client, welcome),
                                                            "username": "victim", "password": factories.PASSWORD})
    assert response.status_code == 400 and "Invalid login, please try again" in response.get_data(as_text=True)
    assert _bound_to(platform.issuer, "t-1") is None


def test_site_admins_are_linked_only_when_the_setting_allows(client, platform, course_resource, admin):
    welcome = prompted(client, platform, course_resource)
    refused = client.post(welcome + "?action=login", data={"csrf_token": _token(client, welcome),
                                                           "username": "admin", "password": factories.PASSWORD})
    assert refused.status_code == 400
    assert ("Site administrator accounts can&#39;t be linked to an LMS account. Log in with a teacher account "
            "instead.") in refused.get_data(as_text=True)
    assert _bound_to(platform.issuer, "t-1") is None
    save_lti_settings({"allow_admin_linking": True})
    db.session.commit()
    allowed = client.post(welcome + "?action=login", data={"csrf_token": _token(client, welcome),
                                                           "username": "admin", "password": factories.PASSWORD})
    assert allowed.status_code == 302 and _bound_to(platform.issuer, "t-1") == admin.id


def test_welcome_login_is_throttled_like_the_login_page(client, platform, course_resource):
    factories.make_user("tess")
    welcome = prompted(client, platform, course_resource)
    token = _token(client, welcome)
    for _ in range(5):
        client.post(welcome + "?action=login", data={"csrf_token": token, "username": "tess", "password": "bad"})
    throttled = client.post(welcome + "?action=login", data={"csrf_token": token, "username": "tess",
                                                             "password": factories.PASSWORD})
    assert throttled.status_code == 429
    assert "Too many failed login attempts. Try again in 15 minutes." in throttled.get_data(as_text=True)
    assert _bound_to(platform.issuer, "t-1") is None


def test_launch_ids_belong_to_the_browser_that_validated_them(app, client, platform, course_resource):
    welcome = prompted(client, platform, course_resource)
    other = app.test_client()
    for path in (welcome, welcome.replace("/lti/account/", "/lti/launch/"), "/lti/account/unknown"):
        response = other.get(path)
        assert response.status_code == 400
        assert "Bad launch. The launch data could not be found. Please launch the tool again from your course." \
            in response.get_data(as_text=True)


def test_welcome_posts_need_a_csrf_token(client, platform, course_resource):
    factories.make_user("tess")
    welcome = prompted(client, platform, course_resource)
    response = client.post(welcome + "?action=login", data={"username": "tess", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert _bound_to(platform.issuer, "t-1") is None


def test_existing_accounts_only_never_offers_creation(client, platform, course_resource):
    course_resource.provisioning_mode_instructor = PROVISION_PROMPT_EXISTING
    db.session.commit()
    welcome = prompted(client, platform, course_resource)
    text = client.get(welcome).get_data(as_text=True)
    assert "Use existing account" in text and "Create an account for me" not in text
    assert 'class="welcome-options single"' in text
