"""Dynamic registration over real HTTP against an independent test platform.

The platform (tests/e2e/platform_server.py) records what it received; the assertions are on that and on
what Courseport stored.
"""
from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
import requests
from werkzeug.wrappers import Response

from app.extensions import db
from app.lti import registration as lti_registration
from app.lti import service_token
from app.models import Deployment, LaunchLog, PlatformRegistration, RegistrationToken
from app.models.base import utcnow
from app.services.platforms import registration_urls
from app.services.platforms import registrations as platforms
from tests.e2e.platform_server import PlatformServer
from tests.factories import make_registration
from tests.helpers import free_port

SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
START_AGAIN = ("Start again with a new registration URL from Site administration &gt; Publish as LTI tool &gt; "
               "Tool registration.")


@pytest.fixture
def platform(live_server):
    with PlatformServer() as server:
        server.tool_jwks_url = f"{live_server.url}/lti/jwks"
        yield server


@pytest.fixture
def draft(live_server):
    with live_server.app.app_context():
        registration = platforms.create_registration("Test LMS")
        db.session.commit()
        token = db.session.execute(db.select(RegistrationToken)).scalar_one()
        return SimpleNamespace(id=registration.id, login_id=registration.login_id, token=token.token,
                               url=registration_urls.registration_url_state(registration).url)


def open_registration(url: str) -> requests.Response:
    """What the platform's window does: a plain GET of the tool's Registration URL."""
    return requests.get(url, timeout=30)


def stored(live_server, registration_id: int) -> SimpleNamespace:
    with live_server.app.app_context():
        registration = db.session.get(PlatformRegistration, registration_id)
        token = db.session.execute(db.select(RegistrationToken).where(
            RegistrationToken.registration_id == registration_id)).scalar_one_or_none()
        deployments = db.session.execute(db.select(Deployment).where(
            Deployment.registration_id == registration_id)).scalars().all()
        logs = db.session.execute(db.select(LaunchLog).order_by(LaunchLog.id)).scalars().all()
        return SimpleNamespace(
            status=registration.status, issuer=registration.issuer, client_id=registration.client_id,
            auth_request_url=registration.auth_request_url, jwks_url=registration.jwks_url,
            access_token_url=registration.access_token_url, token_audience=registration.token_audience,
            token_used=token.used_at is not None if token else None,
            deployments=[(d.name, d.deployment_id, d.status) for d in deployments],
            logs=[(log.kind, log.outcome, log.cause, log.registration_id) for log in logs],
            registrations=db.session.query(PlatformRegistration).count())


def expected_body(base: str, login_id: str, scopes: list[str] = SCOPES, deep_linking: bool = True) -> dict:
    messages = [{"type": "LtiResourceLinkRequest", "target_link_uri": f"{base}/lti/launch",
                 "label": "Launch content from Courseport", "placements": ["ContentArea"], "allowLearner": True}]
    if deep_linking:
        messages.insert(0, {"type": "LtiDeepLinkingRequest", "target_link_uri": f"{base}/lti/deeplink",
                            "label": "Add content from Courseport", "placements": ["ContentArea"],
                            "allowLearner": False})
    return {
        "application_type": "web",
        "grant_types": ["client_credentials", "implicit"],
        "response_types": ["id_token"],
        "initiate_login_uri": f"{base}/lti/login?id={login_id}",
        "redirect_uris": [f"{base}/lti/launch", f"{base}/lti/deeplink"],
        "client_name": "Courseport",
        "jwks_uri": f"{base}/lti/jwks",
        "logo_uri": f"{base}/static/img/logo.png",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": base.split("://", 1)[1],
            "description": "Courses and activities published by Courseport",
            "target_link_uri": f"{base}/lti/launch",
            "claims": ["iss", "sub", "aud", "given_name", "family_name", "name", "email"],
            "messages": messages,
        },
    }


def test_registration_with_token_completes_and_platform_receives_spec_body(live_server, platform, draft):
    response = open_registration(platform.registration_start_url(draft.url, registration_token="reg-secret.42"))

    assert response.status_code == 200
    html = response.text
    assert "Registration complete. You can close this window." in html
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    script = re.search(r'<script nonce="([^"]+)">(.*?)</script>', html, re.S)
    assert script.group(1) == nonce
    assert "(window.opener || window.parent).postMessage({subject: 'org.imsglobal.lti.close'}, '*')" in script.group(2)
    assert f"frame-ancestors 'self' {platform.url}" in response.headers["Content-Security-Policy"]

    [config_request] = platform.requests_to("/.well-known/openid-configuration")
    assert config_request.method == "GET"
    assert config_request.header("Authorization") == "Bearer reg-secret.42"
    assert config_request.header("Accept") == "application/json"
    [register_request] = platform.requests_to("/register")
    assert register_request.method == "POST"
    assert register_request.header("Authorization") == "Bearer reg-secret.42"
    assert register_request.header("Content-Type") == "application/json"
    assert register_request.header("Accept") == "application/json"
    assert register_request.header("User-Agent").startswith("Courseport/")
    assert register_request.json() == expected_body(live_server.url, draft.login_id)

    after = stored(live_server, draft.id)
    assert (after.status, after.issuer, after.client_id) == ("active", platform.issuer, "courseport-client")
    assert (after.auth_request_url, after.jwks_url, after.access_token_url) == (
        f"{platform.url}/auth", f"{platform.url}/jwks", f"{platform.url}/token")
    assert after.token_audience is None
    assert after.token_used is True
    assert after.deployments == [("deployment-1", "deployment-1", "active")]
    assert after.logs[-1][:2] == ("Dynamic registration", "success")


def test_without_registration_token_no_authorization_header_is_sent(live_server, platform, draft):
    response = open_registration(platform.registration_start_url(draft.url))

    assert response.status_code == 200
    assert [r.header("Authorization") for r in platform.requests] == [None, None]


def test_scopes_are_limited_to_supported_and_deep_linking_dropped_when_unsupported(live_server, platform, draft):
    platform.openid_configuration["scopes_supported"] = [
        "openid", "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"]
    platform.openid_configuration["https://purl.imsglobal.org/spec/lti-platform-configuration"][
        "messages_supported"] = [{"type": "LtiResourceLinkRequest"}]
    platform.openid_configuration["authorization_server"] = "https://api.example.org/auth/token"
    platform.deployment_id = None

    assert open_registration(platform.registration_start_url(draft.url)).status_code == 200

    body = platform.requests_to("/register")[0].json()
    assert body == expected_body(live_server.url, draft.login_id, scopes=[SCOPES[2], SCOPES[3]], deep_linking=False)
    after = stored(live_server, draft.id)
    assert after.status == "active"
    assert after.token_audience == "https://api.example.org/auth/token"
    assert after.deployments == []


def test_registered_platform_issues_a_token_for_our_key(live_server, platform, draft):
    """The registration is usable: the platform's token endpoint (lti1p3platform) accepts our assertion."""
    assert open_registration(platform.registration_start_url(draft.url)).status_code == 200
    assert requests.get(f"{live_server.url}/lti/jwks", timeout=10).ok  # our keys exist before we sign with them
    with live_server.app.app_context():
        issued = service_token.request_token(db.session.get(PlatformRegistration, draft.id), SCOPES)
    assert issued.access_token
    assert platform.issued_tokens and platform.requests_to("/token")


def assert_refused(live_server, draft, response, status: int, message: str) -> None:
    """The message, the status, the start-again advice and a Close button; the draft is untouched."""
    assert response.status_code == status, response.text
    html = response.text
    assert message in html
    assert START_AGAIN in html
    assert "data-lti-close" in html and "org.imsglobal.lti.close" in html
    after = stored(live_server, draft.id)
    assert (after.status, after.issuer, after.client_id, after.auth_request_url) == ("pending", None, None, None)
    assert after.token_used is False
    assert after.deployments == []
    assert after.logs[-1][:2] == ("Dynamic registration", "failure")


@pytest.mark.parametrize("token", ["", "not-a-token", "A" * 43])
def test_unknown_token(live_server, platform, draft, token):
    url = draft.url.replace(draft.token, token)
    response = open_registration(platform.registration_start_url(url))
    assert_refused(live_server, draft, response, 400,
                   "Invalid or expired registration URL. Please check the URL and try again.")
    assert platform.requests == []


def test_expired_token(live_server, platform, draft):
    with live_server.app.app_context():
        token = db.session.execute(db.select(RegistrationToken)).scalar_one()
        token.expires_at = utcnow()
        db.session.commit()
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   "Invalid or expired registration URL. Please check the URL and try again.")
    assert platform.requests == []


def test_used_token_cannot_register_twice(live_server, platform, draft):
    start = platform.registration_start_url(draft.url)
    assert open_registration(start).status_code == 200
    platform.requests.clear()

    response = open_registration(start)

    assert response.status_code == 400
    assert "Invalid or expired registration URL. Please check the URL and try again." in response.text
    assert platform.requests == []
    assert stored(live_server, draft.id).registrations == 1


def test_active_registration_refuses_its_token(live_server, platform, draft):
    with live_server.app.app_context():
        registration = db.session.get(PlatformRegistration, draft.id)
        platforms.update_platform_details(registration, name="Test LMS", issuer="https://manual.example.org",
                                          client_id="manual", auth_request_url="https://manual.example.org/a",
                                          jwks_url="https://manual.example.org/j",
                                          access_token_url="https://manual.example.org/t")
        db.session.commit()
    response = open_registration(platform.registration_start_url(draft.url))
    assert response.status_code == 400
    assert "Invalid or expired registration URL. Please check the URL and try again." in response.text
    assert platform.requests == []
    after = stored(live_server, draft.id)
    assert (after.issuer, after.client_id, after.token_used) == ("https://manual.example.org", "manual", False)


@pytest.mark.parametrize("configuration", [
    None, "", "not a url", "ftp://127.0.0.1/config", "http://lms.example.org/.well-known/openid-configuration",
    "//127.0.0.1/config",
])
def test_missing_or_invalid_openid_configuration_url(live_server, platform, draft, configuration):
    url = draft.url if configuration is None else f"{draft.url}&openid_configuration={configuration}"
    response = open_registration(url)
    assert_refused(live_server, draft, response, 400,
                   "The platform did not provide a valid openid_configuration URL.")
    assert platform.requests == []


def test_unreachable_openid_configuration(live_server, platform, draft):
    closed = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    response = open_registration(platform.registration_start_url(draft.url, openid_configuration=closed))
    assert_refused(live_server, draft, response, 400,
                   "There was a problem fetching the OpenID configuration from the platform: could not connect to "
                   f"127.0.0.1:{closed.split(':')[2].split('/')[0]}")


def test_openid_configuration_http_error_shows_platform_body(live_server, platform, draft):
    platform.handlers["/.well-known/openid-configuration"] = lambda request: Response(
        "registration is closed <for now>", status=503)
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   "There was a problem fetching the OpenID configuration from the platform: HTTP 503.")
    assert "registration is closed &lt;for now&gt;" in response.text


def test_openid_configuration_timeout(live_server, platform, draft, monkeypatch):
    monkeypatch.setattr(lti_registration, "TIMEOUT", (1, 1))

    def slow(request):
        time.sleep(2)
        return Response("{}", mimetype="application/json")

    platform.handlers["/.well-known/openid-configuration"] = slow
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   "There was a problem fetching the OpenID configuration from the platform: the request to "
                   f"{platform.openid_configuration_url} timed out.")


def test_openid_configuration_redirect_to_another_host_is_not_followed(live_server, platform, draft):
    elsewhere = f"http://localhost:{platform.port}/.well-known/openid-configuration"
    platform.handlers["/.well-known/openid-configuration"] = lambda request: Response(
        status=302, headers={"Location": elsewhere}) if request.host.startswith("127.") else Response(status=500)
    response = open_registration(platform.registration_start_url(draft.url, registration_token="secret"))
    assert_refused(live_server, draft, response, 400,
                   f"There was a problem fetching the OpenID configuration from the platform: 127.0.0.1:{platform.port}"
                   f" redirected to another host (localhost:{platform.port}).")
    assert len(platform.requests) == 1


def test_openid_configuration_not_json(live_server, platform, draft):
    platform.handlers["/.well-known/openid-configuration"] = lambda request: Response("<html>login</html>")
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   "There was a problem fetching the OpenID configuration from the platform. The result was not "
                   "valid JSON. Please make sure this site can connect to the platform domain and try again using a "
                   "new registration URL.")


def test_openid_configuration_missing_fields(live_server, platform, draft):
    del platform.openid_configuration["jwks_uri"]
    platform.openid_configuration["registration_endpoint"] = "not a url"
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   "The platform&#39;s OpenID configuration is missing: jwks_uri, registration_endpoint.")
    assert platform.requests_to("/register") == []


def test_issuer_must_match_configuration_url(live_server, platform, draft):
    platform.openid_configuration["issuer"] = "https://lms.example.org"
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   "The OpenID configuration URL does not belong to the platform issuer https://lms.example.org.")
    assert platform.requests_to("/register") == []


def test_issuer_path_must_prefix_configuration_path(live_server, platform, draft):
    platform.openid_configuration["issuer"] = f"{platform.url}/moodle"
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   f"The OpenID configuration URL does not belong to the platform issuer {platform.url}/moodle.")


def test_platform_without_rs256(live_server, platform, draft):
    platform.openid_configuration["id_token_signing_alg_values_supported"] = ["ES256"]
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400, "The platform does not support RS256-signed tokens.")


@pytest.mark.parametrize("status", [400, 401, 500, 502])
def test_platform_rejects_registration(live_server, platform, draft, status):
    error = '{"error": "invalid_redirect_uri", "error_description": "Redirect URIs must use https"}'
    platform.handlers["/register"] = lambda request: Response(error, status=status, mimetype="application/json")
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   f"The platform rejected the registration request (HTTP {status}). Its answer is shown below.")
    answer = re.search(r'<pre class="platform-response">(.*?)</pre>', response.text, re.S).group(1)
    assert answer == ("{&#34;error&#34;: &#34;invalid_redirect_uri&#34;, &#34;error_description&#34;: "
                      "&#34;Redirect URIs must use https&#34;}")
    cause = stored(live_server, draft.id).logs[-1][2]
    assert cause.endswith("The platform answered: " + error)


def test_platform_rejects_registration_without_a_body(live_server, platform, draft):
    platform.handlers["/register"] = lambda request: Response("", status=403)
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   "The platform rejected the registration request (HTTP 403) without saying why.")
    assert "platform-response" not in response.text


def test_canvas_gets_its_own_placements_and_privacy_level(live_server, platform, draft):
    platform.openid_configuration[lti_registration.PLATFORM_CONFIGURATION]["product_family_code"] = "canvas"
    response = open_registration(platform.registration_start_url(draft.url))
    assert response.status_code == 200, response.text

    [register_request] = platform.requests_to("/register")
    sent = register_request.json()
    base = live_server.url
    expected = expected_body(base, draft.login_id)
    expected[TOOL_CONFIGURATION]["messages"] = [
        {"type": "LtiDeepLinkingRequest", "target_link_uri": f"{base}/lti/deeplink",
         "label": "Add content from Courseport",
         "placements": ["https://canvas.instructure.com/lti/link_selection",
                        "https://canvas.instructure.com/lti/assignment_selection"]},
        {"type": "LtiResourceLinkRequest", "target_link_uri": f"{base}/lti/launch", "label": "Courseport",
         "placements": ["https://canvas.instructure.com/lti/course_navigation"],
         "https://canvas.instructure.com/lti/course_navigation/default_enabled": False},
    ]
    expected[TOOL_CONFIGURATION]["https://canvas.instructure.com/lti/privacy_level"] = "public"
    assert sent == expected


def test_canvas_without_deep_linking_gets_course_navigation_only(live_server, platform, draft):
    configuration = platform.openid_configuration[lti_registration.PLATFORM_CONFIGURATION]
    configuration["product_family_code"] = "Canvas"
    configuration["messages_supported"] = [{"type": "LtiResourceLinkRequest"}]
    assert open_registration(platform.registration_start_url(draft.url)).status_code == 200

    [register_request] = platform.requests_to("/register")
    messages = register_request.json()[TOOL_CONFIGURATION]["messages"]
    assert [(message["type"], message["placements"]) for message in messages] == [
        ("LtiResourceLinkRequest", ["https://canvas.instructure.com/lti/course_navigation"])]


def test_failure_leaves_token_usable_for_a_retry(live_server, platform, draft):
    start = platform.registration_start_url(draft.url)
    platform.handlers["/register"] = lambda request: Response("down", status=500)
    assert open_registration(start).status_code == 400
    del platform.handlers["/register"]

    assert open_registration(start).status_code == 200
    assert stored(live_server, draft.id).status == "active"


@pytest.mark.parametrize("answer", [
    Response('{"client_name": "Courseport"}', mimetype="application/json"),
    Response('{"client_id": ""}', mimetype="application/json"),
    Response("client registered", mimetype="text/plain"),
])
def test_platform_response_without_client_id(live_server, platform, draft, answer):
    platform.handlers["/register"] = lambda request: answer
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 400,
                   "The platform&#39;s registration response did not include a client_id.")


def test_duplicate_issuer_and_client_id_is_a_conflict(live_server, platform, draft):
    with live_server.app.app_context():
        make_registration("Already there", issuer=platform.issuer, client_id=platform.client_id)
    response = open_registration(platform.registration_start_url(draft.url))
    assert_refused(live_server, draft, response, 409, "A registration already exists for this issuer and client ID.")
    assert stored(live_server, draft.id).registrations == 2


def test_same_issuer_other_client_id_is_a_second_registration(live_server, platform, draft):
    """Canvas Cloud: one issuer, one client ID per school."""
    with live_server.app.app_context():
        make_registration("Other school", issuer=platform.issuer, client_id="other-school")
    assert open_registration(platform.registration_start_url(draft.url)).status_code == 200
    assert stored(live_server, draft.id).client_id == "courseport-client"


def test_overlong_registration_token_is_refused(live_server, platform, draft):
    response = open_registration(platform.registration_start_url(draft.url, registration_token="x" * 4097))
    assert_refused(live_server, draft, response, 400, "The platform did not provide a valid registration_token.")
    assert platform.requests == []
    assert open_registration(platform.registration_start_url(draft.url, registration_token="x" * 4096)).ok
