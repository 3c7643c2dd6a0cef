"""A session cookie stops working once its account's sessions end: logout, a password change or reset, suspension,
unlinking an LMS identity. A copy of the cookie taken before is refused like the original."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AUTH_LTI, LtiIdentity, User
from tests import factories
from tests.helpers import login, post_form


def _copy_session(app, client):
    """What an attacker who captured the cookie holds: another browser with the same session cookie."""
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    return stolen


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_logging_out_ends_a_copied_session(app, client):
    factories.make_user("tess")
    login(client, "tess")
    stolen = _copy_session(app, client)
    assert _signed_in(stolen)
    assert post_form(client, "/logout", token_from="/").status_code == 302
    assert not _signed_in(stolen)
    assert not _signed_in(client)
    login(client, "tess")  # a new login works again
    assert _signed_in(client)


@pytest.mark.parametrize("change", ["reset", "edit", "suspend"])
def test_an_admin_change_ends_the_accounts_sessions(app, client, admin, change):
    user = factories.make_user("tess")
    victim = app.test_client()
    login(victim, "tess")
    assert _signed_in(victim)
    login(client, admin.username)
    if change == "reset":
        response = post_form(client, f"/admin/users/{user.id}/password",
                             {"password": "New-password-1", "password2": "New-password-1"})
    elif change == "edit":
        response = post_form(client, f"/admin/users/{user.id}/edit", {
            "username": "tess", "email": "tess@example.org", "first_name": "Tess", "last_name": "Ter",
            "password": "New-password-1", "auth_method": "manual", "lang": "en", "email_visibility": "2"})
    else:
        response = post_form(client, f"/admin/users/{user.id}/suspend", token_from="/admin/users")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert not _signed_in(victim)
    assert _signed_in(client)  # the admin's own session is another account's


def test_an_admin_changing_their_own_password_stays_signed_in_here_only(app, client, admin):
    other_browser = app.test_client()
    login(other_browser, admin.username)
    login(client, admin.username)
    response = post_form(client, f"/admin/users/{admin.id}/password",
                         {"password": "New-password-1", "password2": "New-password-1"})
    assert response.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other_browser)


def test_unlinking_an_identity_ends_the_sessions_it_opened(app, client, admin):
    user = User(username="lti13_lena", first_name="Lena", last_name="Launch", email="", auth_method=AUTH_LTI)
    db.session.add(user)
    db.session.flush()
    identity = LtiIdentity(user_id=user.id, scope="lti13:test", issuer="https://lms.example", subject="s-1")
    db.session.add(identity)
    db.session.commit()
    launched = app.test_client()
    with launched.session_transaction() as session:
        session["_user_id"] = user.get_id()  # what a launch's sign-in stores
        session["_fresh"] = False
    assert _signed_in(launched)
    login(client, admin.username)
    path = f"/admin/users/{user.id}/identities/{identity.id}/unlink"
    assert post_form(client, path).status_code == 302
    assert not _signed_in(launched)


def test_a_session_from_before_generations_is_anonymous(app, client):
    user = factories.make_user("tess")
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not _signed_in(client)


def test_the_cli_password_reset_ends_the_accounts_sessions(app, runner):
    factories.make_user("tess")
    browser = app.test_client()
    login(browser, "tess")
    result = runner.invoke(args=["users", "reset-password", "tess", "--password", "New-password-1", "--json"])
    assert result.exit_code == 0, result.output
    assert not _signed_in(browser)
