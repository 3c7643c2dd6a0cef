"""The OIDC login's cookie probe over HTTPS: two test cookies, the method that
worked, the state cookie's attributes, and the cookie notice when nothing works."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import LaunchLog, LtiStorageEntry
from tests import factories
from tests.conftest import make_app

BASE = "https://tools.school.example"


@pytest.fixture
def https_app(tmp_path):
    app = make_app(tmp_path, COURSEPORT_BASE_URL=BASE)
    with app.app_context():
        factories.make_registration("LMS", issuer="https://lms.example", client_id="c-1")
        yield app
        db.session.remove()
        db.engine.dispose()


def _login(client, cookies: dict[str, str] | None = None, **extra):
    query = {"iss": "https://lms.example", "login_hint": "u1", "target_link_uri": f"{BASE}/lti/launch",
             "client_id": "c-1", "lti_message_hint": "m1", **extra}
    for name, value in (cookies or {}).items():
        client.set_cookie(name, value, domain="tools.school.example")
    return client.get("/lti/login", query_string=query, base_url=BASE)


def _set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_first_pass_sets_two_test_cookies_and_comes_back(https_app):
    first = _login(https_app.test_client())
    assert first.status_code == 302
    assert parse_qs(urlsplit(first.headers["Location"]).query)["cookiecheck"] == ["1"]
    assert first.headers["Location"].startswith(f"{BASE}/lti/login?")
    cookies = _set_cookies(first)
    assert "Secure" in cookies["lti1p3-probe"] and "SameSite=None" in cookies["lti1p3-probe"]
    assert "Partitioned" not in cookies["lti1p3-probe"] and "Max-Age=30" in cookies["lti1p3-probe"]
    assert "Partitioned" in cookies["lti1p3-probe-partitioned"]
    db.session.expire_all()
    assert db.session.execute(select(LtiStorageEntry)).scalars().all() == []


@pytest.mark.parametrize("kept, partitioned", [({"lti1p3-probe": "1", "lti1p3-probe-partitioned": "1"}, False),
                                               ({"lti1p3-probe-partitioned": "1"}, True)])
def test_second_pass_uses_the_method_that_worked(https_app, kept, partitioned):
    response = _login(https_app.test_client(), kept, cookiecheck="1")
    assert response.status_code == 302 and response.headers["Location"].startswith("https://lms.example/auth?")
    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    cookie = _set_cookies(response)[f"lti1p3-{state}"]
    assert all(part in cookie for part in ("Secure", "HttpOnly", "SameSite=None", "Max-Age=600"))
    assert ("Partitioned" in cookie) is partitioned
    db.session.expire_all()
    stored = db.session.execute(select(LtiStorageEntry)).scalar_one()
    assert stored.key == f"state:{state}"
    assert stored.value["cookie_method"] == ("partitioned" if partitioned else "cookie")


def test_blocked_cookies_show_the_notice_and_store_no_state(https_app):
    notice = _login(https_app.test_client(), cookiecheck="1")
    text = notice.get_data(as_text=True)
    assert notice.status_code == 200
    for line in ("Cookies are blocked by your browser",
                 "This tool can't be launched because your browser seems to be blocking third-party cookies.",
                 "To use this tool, try changing your browser cookie settings or using a different browser.",
                 "Open in a new window"):
        assert line in text
    assert 'target="_blank"' in text and "cookiecheck" not in text
    assert "https://lms.example" in notice.headers["Content-Security-Policy"].split("frame-ancestors")[1]
    db.session.expire_all()
    assert db.session.execute(select(LtiStorageEntry)).scalars().all() == []
    row = db.session.execute(select(LaunchLog)).scalar_one()
    assert (row.kind, row.outcome, row.check_code, row.cookie_method) == \
        ("LTI 1.3 login", "failure", "cookies_blocked", "none")


def test_a_request_with_the_session_cookie_skips_the_probe(https_app):
    response = _login(https_app.test_client(), {"session": "anything"})
    assert response.headers["Location"].startswith("https://lms.example/auth?")


def _storage_config(response) -> dict:
    import html
    import json
    import re

    found = re.search(r'<script type="application/json" id="lti-storage-config">(.*?)</script>',
                      response.get_data(as_text=True), re.S)
    return json.loads(html.unescape(found.group(1)))


def test_blocked_cookies_with_a_storage_target_keep_the_secret_with_the_platform(https_app):
    page = _login(https_app.test_client(), cookiecheck="1", lti_storage_target="post_message_forwarding")
    assert page.status_code == 200
    config = _storage_config(page)
    state = parse_qs(urlsplit(config["next"]).query)["state"][0]
    assert config["next"].startswith("https://lms.example/auth?")
    assert (config["target"], config["origin"], config["key"], config["fallback"]) == \
        ("post_message_forwarding", "https://lms.example", f"lti_state_{state}", "notice")
    text = page.get_data(as_text=True)
    assert "Open in a new window" in text and "lti_new_window=1" in text
    assert "https://lms.example" in page.headers["Content-Security-Policy"].split("frame-ancestors")[1]
    db.session.expire_all()
    stored = db.session.execute(select(LtiStorageEntry)).scalar_one()
    assert stored.key == f"state:{state}"
    assert (stored.value["storage_target"], stored.value["storage_origin"], stored.value["storage_secret"]) == \
        ("post_message_forwarding", "https://lms.example", config["value"])
    assert stored.value["cookie_method"] == "none"
    row = db.session.execute(select(LaunchLog)).scalar_one()
    assert (row.kind, row.outcome, row.cookie_method) == ("LTI 1.3 login", "success", "storage")
    assert config["value"] not in (row.cause or "") + (row.fix or "")


def test_a_working_cookie_keeps_the_plain_redirect_even_with_a_storage_target(https_app):
    response = _login(https_app.test_client(), {"lti1p3-probe-partitioned": "1"}, cookiecheck="1",
                      lti_storage_target="_parent")
    assert response.status_code == 302 and response.headers["Location"].startswith("https://lms.example/auth?")
    db.session.expire_all()
    assert db.session.execute(select(LtiStorageEntry)).scalar_one().value["storage_target"] is None


def test_the_new_window_login_is_logged_as_the_new_window_path(https_app):
    response = _login(https_app.test_client(), {"lti1p3-probe": "1"}, cookiecheck="1", lti_new_window="1")
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.execute(select(LaunchLog)).scalar_one()
    assert row.cookie_method == "new_window"
