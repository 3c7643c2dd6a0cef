"""The admin's launch log: list with filters, detail with cause and fix, admins only, never framed."""
from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.lti.errors import launch_error
from app.models import LaunchLog
from app.models.base import utcnow
from app.services.launch import log as launch_log
from app.services.launch.log import Attempt
from tests import factories
from tests.helpers import login


def _rows(app):
    registration = factories.make_registration("Moodle school", issuer="https://moodle.example", client_id="c-1")
    student = factories.make_user("stud")
    attempt = Attempt(user_agent="Mozilla/5.0 TestBrowser", ip="10.0.0.9")
    ok = launch_log.record(launch_log.KIND_LAUNCH, launch_log.SUCCESS, attempt, registration=registration,
                           user_id=student.id, deployment_id="dep-1", subject="sub-ok", cookie_method="cookie",
                           clock_skew=3)
    failed = launch_log.record_failure(launch_log.KIND_LAUNCH, launch_error(
        "kid_unknown", kid="k9", jwks_url="https://moodle.example/jwks", name="Moodle school", detail=".",
        registration=registration, iss="https://moodle.example", subject="sub-bad"), attempt)
    login_failed = launch_log.record_failure(launch_log.KIND_LOGIN, launch_error(
        "registration_not_found", iss="https://unknown.example", client_id="zz",
        detail="No registration uses this issuer."), attempt)
    db.session.get(LaunchLog, login_failed.id).at = utcnow() - timedelta(days=3)
    db.session.commit()
    return tuple(db.session.get(LaunchLog, row.id) for row in (ok, failed, login_failed))


def test_admin_lists_and_filters_attempts(app, client, admin):
    ok, failed, old = _rows(app)
    login(client, "admin")
    page = client.get("/admin/lti/launches")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for header in ("Time", "Kind", "Outcome", "Registration / consumer key", "Deployment ID", "User", "Resource",
                   "Cause"):
        assert f'<th scope="col">{header}</th>' in text
    assert "Moodle school" in text and "stud" in text and "https://unknown.example" in text
    assert "The token&#39;s signing key k9 was not in the platform keyset at https://moodle.example/jwks." in text
    assert 'aria-current' in text and "Launch log" in text

    def listed(**query) -> set[int]:
        body = client.get("/admin/lti/launches", query_string=query).get_data(as_text=True)
        return {row.id for row in (ok, failed, old) if f"/admin/lti/launches/{row.id}\"" in body}

    assert listed(outcome="failure") == {failed.id, old.id}
    assert listed(outcome="success") == {ok.id}
    assert listed(kind="LTI 1.3 login") == {old.id}
    assert listed(registration=ok.registration_id) == {ok.id, failed.id}
    assert listed(**{"from": (utcnow() - timedelta(days=1)).date().isoformat()}) == {ok.id, failed.id}
    assert listed(to=(utcnow() - timedelta(days=2)).date().isoformat()) == {old.id}
    assert listed(user="stud") == {ok.id}
    assert listed(user="sub-bad") == {failed.id}


def test_detail_explains_the_failure(app, client, admin):
    _ok, failed, _old = _rows(app)
    login(client, "admin")
    text = client.get(f"/admin/lti/launches/{failed.id}").get_data(as_text=True)
    assert "What went wrong" in text and "How to fix it" in text
    assert "Check the Public keyset URL of registration &#39;Moodle school&#39;; use Test connection." in text
    assert "kid_unknown" in text and "Mozilla/5.0 TestBrowser" in text
    ok_text = client.get(f"/admin/lti/launches/{_ok.id}").get_data(as_text=True)
    assert "3 seconds" in ok_text and "cookie" in ok_text
    assert client.get("/admin/lti/launches/99999").status_code == 404


def test_only_admins_see_the_log_and_it_is_never_framed(app, client, admin):
    factories.make_user("teacher")
    assert client.get("/admin/lti/launches").headers["Location"].startswith("/login?next=")
    login(client, "teacher")
    assert client.get("/admin/lti/launches").status_code == 403
    client = app.test_client()
    login(client, "admin")
    with client.session_transaction() as session:  # as after a launch
        session["lti_frame"] = ["https://lms.example"]
    admin_page = client.get("/admin/lti/launches")
    assert admin_page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'self'" in admin_page.headers["Content-Security-Policy"]
    assert "lms.example" not in admin_page.headers["Content-Security-Policy"]
    other_page = client.get("/")
    assert "frame-ancestors 'self' https://lms.example" in other_page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in other_page.headers
