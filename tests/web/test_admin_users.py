"""Admin user management: list, search, create, edit, suspend, reset password, unlink."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from app.models import AUTH_LTI, LtiIdentity, User
from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_token, login, post_form

MSG_USERNAME = ("The username can only contain alphanumeric lowercase characters, underscore (_), hyphen (-), "
                "period (.) or at symbol (@).")
MSG_SELF = "You cannot change this for your own account."
UNLINK_CONFIRM = ("Unlink this LMS identity? The next launch by this person will go through first-launch "
                  "provisioning again.")

VALID_NEW_USER = {"username": "newbie", "password": "Long-enough-1", "email": "newbie@school.example",
                  "first_name": "Nia", "last_name": "Newbie", "email_visibility": "2", "city": "",
                  "country": "", "timezone": "", "lang": "en", "institution": ""}


@pytest.fixture
def admin_client(client, admin):
    login(client, "admin")
    return client


def make_lti_user(db, username: str = "lti13_abc", *, subjects: tuple[str, ...] = ("sub-0",)) -> User:
    user = User(username=username, first_name="Lena", last_name="Launch", email="", auth_method=AUTH_LTI)
    db.session.add(user)
    db.session.flush()
    for subject in subjects:
        db.session.add(LtiIdentity(user_id=user.id, scope="lti13:admin-test", issuer="https://lms.example.org",
                                   subject=subject))
    db.session.commit()
    return user


def field_error(html: str, field: str) -> str | None:
    """The message shown under one field (render_field gives it the id `{field}-error`)."""
    match = re.search(rf'id="{field}-error">([^<]*)<', html)
    return match.group(1).replace("&#39;", "'") if match else None


def user_count(db) -> int:
    return db.session.query(User).count()


# --- access -------------------------------------------------------------------------------------------------

ADMIN_GETS = ["/admin", "/admin/users", "/admin/users/new", "/admin/users/{id}/edit", "/admin/users/{id}/password",
              "/admin/users/{id}/identities/{identity}/unlink"]


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_anonymous_is_sent_to_login(client, db, path):
    user = make_lti_user(db)
    response = client.get(path.format(id=user.id, identity=user.identities[0].id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_non_admin_gets_403(client, db, path):
    make_user("student")
    user = make_lti_user(db)
    login(client, "student")
    assert client.get(path.format(id=user.id, identity=user.identities[0].id)).status_code == 403


def test_non_admin_cannot_post_actions(client, db):
    make_user("student")
    victim = make_user("victim")
    login(client, "student")
    token = csrf_token(client, "/")
    for path in (f"/admin/users/{victim.id}/suspend", f"/admin/users/{victim.id}/password", "/admin/users/new"):
        response = client.post(path, data={"csrf_token": token, "password": "Hijacked-123", **VALID_NEW_USER})
        assert response.status_code == 403
    db.session.expire_all()
    assert not db.session.get(User, victim.id).suspended
    assert db.session.get(User, victim.id).check_password(PASSWORD)
    assert user_count(db) == 2


def test_site_administration_links_to_users(admin_client):
    html = admin_client.get("/admin").get_data(as_text=True)
    assert ">Users</h2>" in html
    assert '<a href="/admin/users">Browse list of users</a>' in html


def test_unknown_user_is_404(admin_client):
    assert admin_client.get("/admin/users/999/edit").status_code == 404
    assert admin_client.get("/admin/users/999/password").status_code == 404


# --- list, search, paging -----------------------------------------------------------------------------------

def test_list_columns_and_values(admin_client, db):
    lti = make_lti_user(db)
    lti.suspended = True
    lti.last_login_at = datetime(2030, 1, 2, 3, 4, tzinfo=timezone.utc)
    db.session.commit()
    html = admin_client.get("/admin/users").get_data(as_text=True)
    headers = re.findall(r'<th scope="col">([^<]*)</th>', html)
    assert headers == ["Name", "Email", "Authentication", "Site admin", "Status", "Last login", "Actions"]
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]
    admin_row = next(row for row in rows if 'username muted">admin</span>' in row)
    lti_row = next(row for row in rows if 'username muted">lti13_abc</span>' in row)
    assert "<td>Manual accounts</td>" in admin_row and "<td>Yes</td>" in admin_row and ">Active<" in admin_row
    assert "<td>LTI</td>" in lti_row and "<td>No</td>" in lti_row and ">Suspended<" in lti_row
    assert "02 January 2030, 03:04 UTC" in lti_row
    assert "Add a new user" in html
    # LTI accounts have no password to reset; the admin's own row offers no suspend button.
    assert "Reset password" not in lti_row and "Unsuspend" in lti_row
    assert "Suspend" not in admin_row and "Reset password" in admin_row


@pytest.mark.parametrize("query", ["ZOE", "zoe.q", "Quist", "zoe quist", "school.example"])
def test_search_by_username_name_or_email(admin_client, query):
    make_user("zoe.q", first_name="Zoe", last_name="Quist", email="zq@school.example")
    make_user("other", first_name="Oscar", last_name="Other", email="oscar@else.example")
    html = admin_client.get("/admin/users", query_string={"q": query}).get_data(as_text=True)
    assert 'username muted">zoe.q</span>' in html
    assert 'username muted">other</span>' not in html and 'username muted">admin</span>' not in html
    assert "1 user matching" in html


def test_search_treats_wildcards_literally(admin_client):
    make_user("under_score")
    make_user("plain")
    html = admin_client.get("/admin/users", query_string={"q": "_"}).get_data(as_text=True)
    assert 'username muted">under_score</span>' in html and 'username muted">plain</span>' not in html


def test_fifty_per_page_and_search_kept_in_pager(admin_client, db):
    db.session.add_all(User(username=f"bulk{number:03d}", first_name="Bulk", last_name=str(number),
                            email=f"bulk{number}@school.example", auth_method=AUTH_LTI) for number in range(120))
    db.session.commit()
    first = admin_client.get("/admin/users", query_string={"q": "bulk"}).get_data(as_text=True)
    assert first.count('<span class="person-name">Bulk ') == 50
    assert "Page 1 of 3" in first
    assert 'href="/admin/users?page=2&amp;q=bulk"' in first
    last = admin_client.get("/admin/users", query_string={"q": "bulk", "page": 3}).get_data(as_text=True)
    assert last.count('<span class="person-name">Bulk ') == 20
    assert 'username muted">bulk119</span>' in last and 'username muted">bulk000</span>' not in last


# --- create ---------------------------------------------------------------------------------------------------

def test_create_user(admin_client, client, db):
    data = {**VALID_NEW_USER, "username": "  NewBie ", "is_site_admin": "y", "country": "NZ",
            "timezone": "Pacific/Auckland", "city": "Wellington", "institution": "Kura"}
    response = post_form(admin_client, "/admin/users/new", data)
    assert response.status_code == 302
    user = db.session.execute(db.select(User).where(User.username == "newbie")).scalar_one()
    assert (user.email, user.first_name, user.last_name, user.auth_method) == \
        ("newbie@school.example", "Nia", "Newbie", "manual")
    assert user.is_site_admin and not user.suspended
    assert (user.country, user.timezone, user.city, user.institution, user.lang, user.email_visibility) == \
        ("NZ", "Pacific/Auckland", "Wellington", "Kura", "en", 2)
    assert user.password_hash.startswith("pbkdf2:sha256:1$")  # the tests' configured method, not a default
    assert user.check_password(VALID_NEW_USER["password"])
    assert "User newbie created" in admin_client.get(response.headers["Location"]).get_data(as_text=True)


def test_new_user_can_log_in(admin_client, app, db):
    post_form(admin_client, "/admin/users/new", VALID_NEW_USER)
    other = app.test_client()
    login(other, "newbie", "Long-enough-1")


def test_create_form_shows_every_field(admin_client):
    html = admin_client.get("/admin/users/new").get_data(as_text=True)
    for label in ("Username", "Password", "Email", "First name", "Last name", "Site administrator", "Suspended",
                  "Email visibility", "City/town", "Select a country", "Timezone", "Preferred language",
                  "Institution"):
        assert f">{label}</label>" in html, label
    assert "Authentication method" in html and "Manual accounts" in html
    assert '<option selected value="2">Visible to course participants</option>' in html


@pytest.mark.parametrize("changes, field, message", [
    ({"username": ""}, "username", "Required"),
    ({"username": "bad name!"}, "username", MSG_USERNAME),
    ({"username": "x" * 101}, "username", MSG_USERNAME),
    ({"username": "ADMIN"}, "username", "This username already exists, choose another"),
    ({"password": "short12"}, "password", "Passwords must be at least 8 characters long."),
    ({"password": ""}, "password", "Passwords must be at least 8 characters long."),
    ({"email": "not-an-email"}, "email", "Invalid email address"),
    ({"email": ""}, "email", "Required"),
    ({"first_name": "  "}, "first_name", "Required"),
    ({"last_name": ""}, "last_name", "Required"),
    ({"last_name": "y" * 101}, "last_name", "Maximum of 100 characters"),
    ({"city": "c" * 121}, "city", "Maximum of 120 characters"),
    ({"institution": "i" * 41}, "institution", "Maximum of 40 characters"),
    ({"country": "XX"}, "country", "Select a country from the list (an ISO 3166 two-letter code such as GB)."),
    ({"timezone": "Mars/Olympus"}, "timezone", "Select a timezone from the list (an IANA name such as Europe/London)."),
])
def test_create_bad_input(admin_client, db, changes, field, message):
    response = post_form(admin_client, "/admin/users/new", {**VALID_NEW_USER, **changes})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), field) == message
    assert user_count(db) == 1


def test_create_redisplays_input_but_not_password(admin_client):
    response = post_form(admin_client, "/admin/users/new", {**VALID_NEW_USER, "email": "broken"})
    html = response.get_data(as_text=True)
    assert 'value="newbie"' in html and 'value="broken"' in html
    assert "Long-enough-1" not in html


# --- edit -------------------------------------------------------------------------------------------------------

def edit_data(user: User, **changes) -> dict:
    data = {"username": user.username, "email": user.email, "first_name": user.first_name,
            "last_name": user.last_name, "email_visibility": str(user.email_visibility), "city": user.city,
            "country": user.country, "timezone": user.timezone, "lang": user.lang, "institution": user.institution}
    if user.is_site_admin:
        data["is_site_admin"] = "y"
    if user.suspended:
        data["suspended"] = "y"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_edit_user_keeps_password_when_blank(admin_client, db):
    user = make_user("bea", first_name="Bea")
    response = post_form(admin_client, f"/admin/users/{user.id}/edit",
                         edit_data(user, first_name="Beatrice", username="bea.b", email="bea@new.example",
                                   password="", email_visibility="0", country="FR"))
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.username, user.first_name, user.email, user.email_visibility, user.country) == \
        ("bea.b", "Beatrice", "bea@new.example", 0, "FR")
    assert user.check_password(PASSWORD)
    assert "Changes saved" in admin_client.get(response.headers["Location"]).get_data(as_text=True)


def test_edit_user_sets_new_password(admin_client, db):
    user = make_user("cai")
    html = admin_client.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    assert ">New password</label>" in html
    response = post_form(admin_client, f"/admin/users/{user.id}/edit", edit_data(user, password="Brand-new-pass"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("Brand-new-pass")


@pytest.mark.parametrize("changes, field, message", [
    ({"username": "admin"}, "username", "This username already exists, choose another"),
    ({"email": "nope@"}, "email", "Invalid email address"),
    ({"password": "1234567"}, "password", "Passwords must be at least 8 characters long."),
    ({"first_name": ""}, "first_name", "Required"),
    ({"email_visibility": "5"}, "email_visibility",
     "Select a valid choice: 0 (Hidden), 1 (Visible to everyone) or 2 (Visible to course participants)."),
    ({"lang": "fr"}, "lang", "Select an installed language: en."),
])
def test_edit_bad_input_changes_nothing(admin_client, db, changes, field, message):
    user = make_user("dan", first_name="Dan")
    response = post_form(admin_client, f"/admin/users/{user.id}/edit",
                         edit_data(user, **{"city": "Elsewhere", **changes}))
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), field) == message
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.city, user.first_name, user.username) == ("", "Dan", "dan") and user.check_password(PASSWORD)


def test_admin_cannot_demote_or_suspend_self_in_form(admin_client, admin, db):
    response = post_form(admin_client, f"/admin/users/{admin.id}/edit",
                         edit_data(admin, is_site_admin=None, suspended="y", first_name="Changed"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error(html, "is_site_admin") == MSG_SELF
    assert field_error(html, "suspended") == MSG_SELF
    db.session.expire_all()
    admin = db.session.get(User, admin.id)
    assert admin.is_site_admin and not admin.suspended and admin.first_name == "Ada"


def test_admin_may_edit_own_other_fields(admin_client, admin, db):
    response = post_form(admin_client, f"/admin/users/{admin.id}/edit", edit_data(admin, city="Oslo"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, admin.id).city == "Oslo"


def test_admin_can_demote_another_admin(admin_client, db):
    other = make_user("second", admin=True)
    response = post_form(admin_client, f"/admin/users/{other.id}/edit", edit_data(other, is_site_admin=None))
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, other.id).is_site_admin


# --- LTI accounts -----------------------------------------------------------------------------------------------

def test_lti_account_form_hides_password_and_lists_identities(admin_client, db):
    user = make_lti_user(db, subjects=("sub-0", "sub-1"))
    html = admin_client.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    assert 'type="password"' not in html
    assert "Linked LTI identities" in html
    assert re.findall(r'<th scope="col">([^<]*)</th>', html) == ["Issuer", "Subject", "Linked on", "Actions"]
    assert "<td>https://lms.example.org</td>" in html and "<td>sub-0</td>" in html and "<td>sub-1</td>" in html
    assert html.count(">Unlink</a>") == 2
    assert '<p class="field-value" aria-labelledby="auth-method-label">LTI</p>' in html


def test_lti_account_cannot_get_a_password(admin_client, app, db):
    user = make_lti_user(db)
    response = post_form(admin_client, f"/admin/users/{user.id}/edit",
                         edit_data(user, password="Sneaky-password-1"), token_from="/admin/users")
    assert response.status_code == 302  # the password field is not part of an LTI account's form
    assert admin_client.get(f"/admin/users/{user.id}/password").status_code == 400
    response = post_form(admin_client, f"/admin/users/{user.id}/password", {"password": "Sneaky-password-1"},
                         token_from="/admin/users")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash is None
    response = post_form(app.test_client(), "/login", {"username": user.username, "password": "Sneaky-password-1"})
    assert response.status_code == 400


def test_lti_account_may_have_no_email_but_not_a_bad_one(admin_client, db):
    user = make_lti_user(db)
    assert post_form(admin_client, f"/admin/users/{user.id}/edit", edit_data(user, city="Lima")).status_code == 302
    response = post_form(admin_client, f"/admin/users/{user.id}/edit", edit_data(user, email="bad"))
    assert field_error(response.get_data(as_text=True), "email") == "Invalid email address"


def test_unlink_identity_after_confirmation(admin_client, db):
    user = make_lti_user(db, subjects=("sub-0", "sub-1"))
    identity_id = user.identities[0].id
    path = f"/admin/users/{user.id}/identities/{identity_id}/unlink"
    html = admin_client.get(path).get_data(as_text=True)
    assert UNLINK_CONFIRM in html and "sub-0" in html
    assert db.session.get(LtiIdentity, identity_id) is not None  # showing the confirmation changes nothing
    response = post_form(admin_client, path)
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{user.id}/edit"
    db.session.expire_all()
    assert db.session.get(LtiIdentity, identity_id) is None
    assert [identity.subject for identity in db.session.get(User, user.id).identities] == ["sub-1"]


def test_unlink_needs_csrf_and_the_right_account(admin_client, db):
    owner = make_lti_user(db, "lti13_owner", subjects=("owner",))
    other = make_lti_user(db, "lti13_other", subjects=("other",))
    identity_id = owner.identities[0].id
    assert admin_client.post(f"/admin/users/{owner.id}/identities/{identity_id}/unlink").status_code == 400
    token = csrf_token(admin_client, "/admin/users")
    assert admin_client.post(f"/admin/users/{other.id}/identities/{identity_id}/unlink",
                             data={"csrf_token": token}).status_code == 404
    assert admin_client.get(f"/admin/users/{other.id}/identities/{identity_id}/unlink").status_code == 404
    db.session.expire_all()
    assert db.session.get(LtiIdentity, identity_id) is not None


# --- suspend, unsuspend ---------------------------------------------------------------------------------------

def test_suspend_and_unsuspend(admin_client, app, db):
    user = make_user("eve")
    response = post_form(admin_client, f"/admin/users/{user.id}/suspend?next=/admin/users%3Fq%3Deve",
                         token_from="/admin/users")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?q=eve"
    db.session.expire_all()
    assert db.session.get(User, user.id).suspended
    response = post_form(app.test_client(), "/login", {"username": "eve", "password": PASSWORD})
    assert response.status_code == 400
    assert "Invalid login, please try again" in response.get_data(as_text=True)

    response = post_form(admin_client, f"/admin/users/{user.id}/unsuspend?next=//evil.example/",
                         token_from="/admin/users")
    assert response.headers["Location"] == "/admin/users"
    db.session.expire_all()
    assert not db.session.get(User, user.id).suspended
    login(app.test_client(), "eve")


def test_suspension_ends_an_open_session(admin_client, app, db):
    user = make_user("fay")
    fay = app.test_client()
    login(fay, "fay")
    assert fay.get("/").status_code == 200
    post_form(admin_client, f"/admin/users/{user.id}/suspend", token_from="/admin/users")
    response = fay.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_admin_cannot_suspend_self(admin_client, admin, db):
    response = post_form(admin_client, f"/admin/users/{admin.id}/suspend", token_from="/admin/users")
    assert response.status_code == 400
    assert MSG_SELF in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(User, admin.id).suspended


def test_suspend_is_post_only_with_csrf(admin_client, db):
    user = make_user("gus")
    assert admin_client.get(f"/admin/users/{user.id}/suspend").status_code == 405
    assert admin_client.post(f"/admin/users/{user.id}/suspend").status_code == 400
    user.suspended = True
    db.session.commit()
    assert admin_client.post(f"/admin/users/{user.id}/unsuspend").status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).suspended


# --- reset password ---------------------------------------------------------------------------------------------

def test_reset_password(admin_client, app, db):
    user = make_user("hal")
    path = f"/admin/users/{user.id}/password"
    response = post_form(admin_client, path, {"password": "short"})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "password") == \
        "Passwords must be at least 8 characters long."
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)

    response = post_form(admin_client, path, {"password": "Reset-by-admin-1"})
    assert response.status_code == 302
    assert "Password reset for hal" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    login(app.test_client(), "hal", "Reset-by-admin-1")


@pytest.mark.parametrize("path", ["/admin/users/new", "/admin/users/{id}/edit", "/admin/users/{id}/password"])
def test_forms_need_csrf(admin_client, db, path):
    user = make_user("ivy")
    response = admin_client.post(path.format(id=user.id),
                                 data={**VALID_NEW_USER, "username": "ivy2", "password": "Changed-pass-1"})
    assert response.status_code == 400
    db.session.expire_all()
    assert user_count(db) == 2
    user = db.session.get(User, user.id)
    assert user.username == "ivy" and user.check_password(PASSWORD)
