"""Test connection against the independent test platform: keyset step and token step.

The platform's token endpoint is lti1p3platform's, which verifies our client assertion against our JWKS URL
over HTTP, so a passing token step proves the whole chain.
"""
from __future__ import annotations

import html
import json

import jwt
import pytest
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import PlatformRegistration, ToolKey
from tests.e2e.platform_server import PlatformServer
from tests.factories import make_registration, make_user
from tests.helpers import free_port, login, post_form

SCOPES = ("https://purl.imsglobal.org/spec/lti-ags/scope/lineitem "
          "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly "
          "https://purl.imsglobal.org/spec/lti-ags/scope/score "
          "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly")
TOKEN_ADVICE = "Check the Client ID, the Access token URL and that the platform has this site's JWKS URL."


@pytest.fixture
def platform(live_server):
    with PlatformServer() as server:
        server.tool_jwks_url = f"{live_server.url}/lti/jwks"
        yield server


@pytest.fixture
def setup(live_server, platform):
    """An Active registration pointing at the platform, and an admin client of the live app."""
    with live_server.app.app_context():
        make_user("admin", admin=True)
        registration = make_registration("Test platform", issuer=platform.issuer, client_id=platform.client_id,
                                         auth_request_url=f"{platform.url}/auth", jwks_url=f"{platform.url}/jwks",
                                         access_token_url=f"{platform.url}/token")
        registration_id = registration.id
    client = live_server.app.test_client()
    login(client, "admin")
    return client, registration_id


def run_test(live_server, client, registration_id: int) -> tuple[list[dict], str]:
    response = post_form(client, f"/admin/lti/registrations/{registration_id}/test",
                         token_from=f"/admin/lti/registrations/{registration_id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/lti/registrations/{registration_id}?tab=platformdetails#test-result"
    page = html.unescape(client.get(f"/admin/lti/registrations/{registration_id}").get_data(as_text=True))
    with live_server.app.app_context():
        return db.session.get(PlatformRegistration, registration_id).last_test["steps"], page


def update(live_server, registration_id: int, **values: str) -> None:
    with live_server.app.app_context():
        registration = db.session.get(PlatformRegistration, registration_id)
        for name, value in values.items():
            setattr(registration, name, value)
        db.session.commit()


def test_both_steps_succeed(live_server, platform, setup):
    client, registration_id = setup
    steps, page = run_test(live_server, client, registration_id)

    platform_kid = platform.lti_registration().get_kid()
    assert steps == [
        {"name": "Fetch the platform's public keyset", "ok": True, "text": f"OK — 1 key(s) found: {platform_kid}."},
        {"name": "Request an access token", "ok": True,
         "text": f"OK — the platform issued a token (expires in 3600 seconds; scopes: {SCOPES})."},
    ]
    for step in steps:
        assert f'<th scope="row">{step["name"]}</th><td>{step["text"]}</td>' in page
    [token_request] = platform.requests_to("/token", "POST")
    assert token_request.form()["scope"] == SCOPES
    assert token_request.form()["grant_type"] == "client_credentials"
    with live_server.app.app_context():
        current = db.session.execute(db.select(ToolKey).where(ToolKey.state == "current")).scalar_one().kid
    assert jwt.get_unverified_header(token_request.form()["client_assertion"])["kid"] == current
    assert len(platform.issued_tokens) == 1


def test_keyset_http_error(live_server, platform, setup):
    client, registration_id = setup
    platform.handlers["/jwks"] = lambda request: Response("gone", status=404)
    steps, _ = run_test(live_server, client, registration_id)
    assert steps[0] == {"name": "Fetch the platform's public keyset", "ok": False,
                        "text": "Failed — HTTP 404. Check the Public keyset URL."}
    assert steps[1]["ok"] is True  # the steps are independent


@pytest.mark.parametrize("body, reason", [
    ("<html>maintenance</html>", "the response was not a JSON keyset"),
    ('{"keys": []}', "the keyset has no keys"),
])
def test_keyset_unusable(live_server, platform, setup, body, reason):
    client, registration_id = setup
    platform.handlers["/jwks"] = lambda request: Response(body, mimetype="application/json")
    steps, _ = run_test(live_server, client, registration_id)
    assert steps[0]["text"] == f"Failed — {reason}. Check the Public keyset URL."


def test_keyset_unreachable(live_server, platform, setup):
    client, registration_id = setup
    port = free_port()
    update(live_server, registration_id, jwks_url=f"http://127.0.0.1:{port}/jwks")
    steps, _ = run_test(live_server, client, registration_id)
    assert steps[0]["text"] == (f"Failed — could not connect to 127.0.0.1:{port} (ConnectionError). "
                                "Check the Public keyset URL.")


def test_token_refused_for_unknown_client(live_server, platform, setup):
    client, registration_id = setup
    update(live_server, registration_id, client_id="someone-else")
    steps, page = run_test(live_server, client, registration_id)
    assert steps[0]["ok"] is True
    assert steps[1]["ok"] is False
    assert steps[1]["text"].startswith('Failed — HTTP 401: {"error": "invalid_client", "error_description": '
                                       '"unknown client someone-else"}')
    assert steps[1]["text"].endswith(f". {TOKEN_ADVICE}")
    assert steps[1]["text"] in page


def test_token_refused_when_platform_cannot_read_our_keys(live_server, platform, setup):
    client, registration_id = setup
    platform.tool_jwks_url = f"http://127.0.0.1:{free_port()}/lti/jwks"
    steps, _ = run_test(live_server, client, registration_id)
    assert steps[1]["text"].startswith("Failed — HTTP 401: ")
    assert TOKEN_ADVICE in steps[1]["text"]


def test_token_url_unreachable(live_server, platform, setup):
    client, registration_id = setup
    port = free_port()
    update(live_server, registration_id, access_token_url=f"http://127.0.0.1:{port}/token")
    steps, _ = run_test(live_server, client, registration_id)
    assert steps[1]["text"] == f"Failed — could not connect to 127.0.0.1:{port} (ConnectionError). {TOKEN_ADVICE}"


def test_cli_test_command(live_server, platform, setup):
    _client, registration_id = setup
    runner = live_server.app.test_cli_runner()
    ok = runner.invoke(args=["lti", "registrations", "test", str(registration_id), "--json"])
    assert ok.exit_code == 0, ok.output
    assert [step["ok"] for step in json.loads(ok.output)["steps"]] == [True, True]
    platform.handlers["/token"] = lambda request: Response('{"error": "invalid_scope"}', status=400)
    failed = runner.invoke(args=["lti", "registrations", "test", str(registration_id)])
    assert failed.exit_code == 1
    assert f'Request an access token: Failed — HTTP 400: {{"error": "invalid_scope"}}. {TOKEN_ADVICE}' in failed.output


def test_urls_an_admin_configured_reach_any_address(live_server, platform, setup):
    """Private addresses are refused only for URLs that arrive in requests: the registration's own keyset and
    token URLs, typed by an admin, reach the platform on 127.0.0.1 with the setting off."""
    live_server.app.config["ALLOW_PRIVATE_ADDRESSES"] = False
    client, registration_id = setup
    steps, _page = run_test(live_server, client, registration_id)
    assert [step["ok"] for step in steps] == [True, True]
