"""`flask --app wsgi users …`: same rules and messages as the admin screens, --json everywhere."""
from __future__ import annotations

import json

import pytest

from app.models import AUTH_LTI, User
from tests.factories import PASSWORD, make_user

MSG_USERNAME = ("The username can only contain alphanumeric lowercase characters, underscore (_), hyphen (-), "
                "period (.) or at symbol (@).")


def invoke(runner, *args: str, **kwargs):
    return runner.invoke(args=["users", *args], **kwargs)


def get(db, username: str) -> User | None:
    db.session.expire_all()
    return db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()


def test_list_json_is_an_empty_list_on_a_new_site(runner):
    result = invoke(runner, "list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == []


def test_create_with_every_option(runner, db):
    result = invoke(runner, "create", "Teacher1", "--password", "Secret-pass-1", "--admin", "--email",
                    "t1@school.example", "--first", "Tia", "--last", "Teach", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {key: data[key] for key in ("username", "email", "first_name", "last_name", "auth_method",
                                       "is_site_admin", "suspended")} == {
        "username": "teacher1", "email": "t1@school.example", "first_name": "Tia", "last_name": "Teach",
        "auth_method": "manual", "is_site_admin": True, "suspended": False}
    assert "password" not in result.output and "scrypt" not in result.output
    user = get(db, "teacher1")
    assert user.id == data["id"] and user.check_password("Secret-pass-1")


@pytest.mark.parametrize("username, email", [("bob", "bob@example.com"), ("amy@school.example", "amy@school.example"),
                                             ("jo@home", "jo.home@example.com"), ("a..b", "a.b@example.com")])
def test_create_defaults(runner, db, username, email):
    result = invoke(runner, "create", username, "--password", "Secret-pass-1")
    assert result.exit_code == 0, result.output
    assert f"Created user {username}" in result.output
    user = get(db, username)
    assert (user.email, user.first_name, user.last_name, user.is_site_admin) == (email, username, "User", False)


@pytest.mark.parametrize("args, message", [
    (["bad name", "--password", "Secret-pass-1"], MSG_USERNAME),
    (["carl", "--password", "short"], "Passwords must be at least 8 characters long."),
    (["carl", "--password", "Secret-pass-1", "--email", "nope"], "Invalid email address"),
    (["carl", "--password", "Secret-pass-1", "--first", " "], "Required"),
])
def test_create_refuses_bad_input(runner, db, args, message):
    result = invoke(runner, "create", *args, "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)["error"] == message
    text = invoke(runner, "create", *args)
    assert text.exit_code == 1 and f"Error: {message}" in text.output
    assert db.session.query(User).count() == 0


def test_create_duplicate_username(runner, db):
    make_user("dora")
    result = invoke(runner, "create", "DORA", "--password", "Secret-pass-1", "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {"error": "This username already exists, choose another",
                                         "errors": {"username": "This username already exists, choose another"}}


def test_list_never_shows_password_hashes(runner, db):
    make_user("erin", admin=True)
    make_user("finn")
    result = invoke(runner, "list", "--json")
    rows = json.loads(result.output)
    assert [row["username"] for row in rows] == ["erin", "finn"]
    assert rows[0]["is_site_admin"] is True and rows[1]["last_login_at"] is None
    assert "scrypt" not in result.output and "password" not in result.output
    text = invoke(runner, "list")
    assert "erin" in text.output and "admin" in text.output and "scrypt" not in text.output


def test_set_admin_on_and_off(runner, db):
    make_user("gail")
    result = invoke(runner, "set-admin", "gail", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["is_site_admin"] is True
    assert get(db, "gail").is_site_admin
    result = invoke(runner, "set-admin", "gail", "--off")
    assert result.exit_code == 0 and "no longer a site administrator" in result.output
    assert not get(db, "gail").is_site_admin


def test_suspend_and_unsuspend(runner, db):
    make_user("hugo")
    result = invoke(runner, "suspend", "hugo", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["suspended"] is True
    assert get(db, "hugo").suspended
    assert invoke(runner, "suspend", "hugo", "--off").exit_code == 0
    assert not get(db, "hugo").suspended


def test_reset_password(runner, db):
    make_user("iris")
    result = invoke(runner, "reset-password", "iris", "--password", "Another-pass-2", "--json")
    assert result.exit_code == 0 and "scrypt" not in result.output
    assert get(db, "iris").check_password("Another-pass-2")
    result = invoke(runner, "reset-password", "iris", "--password", "tiny", "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)["error"] == "Passwords must be at least 8 characters long."
    assert get(db, "iris").check_password("Another-pass-2")


def test_lti_accounts_get_no_password(runner, db):
    db.session.add(User(username="lti13_x", first_name="L", last_name="T", email="", auth_method=AUTH_LTI))
    db.session.commit()
    result = invoke(runner, "reset-password", "lti13_x", "--password", "Another-pass-2", "--json")
    assert result.exit_code == 1
    assert "cannot have a password" in json.loads(result.output)["error"]
    assert get(db, "lti13_x").password_hash is None


@pytest.mark.parametrize("args", [["set-admin", "ghost"], ["suspend", "ghost", "--off"],
                                  ["reset-password", "ghost", "--password", "Whatever-123"]])
def test_unknown_username(runner, args):
    result = invoke(runner, *args, "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {"error": 'No user with username "ghost".'}


def test_password_is_prompted_when_left_out(runner, db):
    result = invoke(runner, "create", "jade", input="Prompted-pass-1\nPrompted-pass-1\n")
    assert result.exit_code == 0, result.output
    assert "Prompted-pass-1" not in result.output
    assert get(db, "jade").check_password("Prompted-pass-1")
    assert not get(db, "jade").check_password(PASSWORD)
