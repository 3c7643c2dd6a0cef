"""LTI 1.1 → 1.3 migration end to end: a user who came in over LTI 1.1 launches over LTI 1.3 from a
platform whose id_token carries a signed lti1p1 claim, and keeps the 1.1 account. The platform is independent
code (lti1p3platform keys and signing, served by tests/e2e/platform_server.py); the claim is signed here with
the standard library, as an LMS would."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.extensions import db
from app.models import Deployment, LaunchLog, LtiIdentity, PublishedResource, User
from tests import factories
from tests.e2e.legacy_consumer import launch_params, sign_launch
from tests.e2e.platform_server import PlatformServer

KEY = "moodle-legacy-key"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture
def platform():
    with PlatformServer() as server:
        yield server


@pytest.fixture
def world(live_server, platform):
    with live_server.app.app_context():
        course = factories.make_course("BIO", "Biology")
        legacy = factories.make_resource(course, legacy=True)
        advantage = factories.make_resource(course)
        factories.make_registration("Moodle", issuer=platform.issuer, client_id=platform.client_id,
                                    deployment_ids=(platform.deployment_id,), jwks_url=f"{platform.url}/jwks",
                                    auth_request_url=f"{platform.url}/auth")
        return {"course_id": course.id, "legacy_id": legacy.id, "secret": legacy.secret, "uuid": advantage.uuid}


def _legacy_launch(live_server, world, user_id: str) -> None:
    url = f"{live_server.url}/lti/v1/launch/{world['legacy_id']}"
    body = sign_launch(url, KEY, world["secret"], launch_params(user_id=user_id))
    response = requests.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                             allow_redirects=False, timeout=10)
    assert response.status_code == 302


def _claim_sign(secret: str, platform: PlatformServer, exp: int, nonce: str, hex_variant: bool) -> str:
    base = "&".join([KEY, platform.deployment_id, platform.issuer, platform.client_id, str(exp), nonce])
    mac = hmac.new(secret.encode(), base.encode(), hashlib.sha256)
    return base64.b64encode(mac.hexdigest().encode() if hex_variant else mac.digest()).decode()


def _lti13_launch(live_server, world, platform, *, sub: str, lti1p1: dict | None, secret: str | None = None,
                  hex_variant: bool = False) -> requests.Response:
    browser = requests.Session()
    login = browser.get(f"{live_server.url}/lti/login", params={
        "iss": platform.issuer, "login_hint": sub, "target_link_uri": f"{live_server.url}/lti/launch",
        "client_id": platform.client_id, "lti_deployment_id": platform.deployment_id},
        allow_redirects=False, timeout=10)
    assert login.status_code == 302, login.text
    auth = parse_qs(urlsplit(login.headers["Location"]).query)
    now = int(time.time())
    claims = {
        "iss": platform.issuer, "aud": platform.client_id, "sub": sub, "iat": now, "exp": now + 300,
        "nonce": auth["nonce"][0], "given_name": "Grace", "family_name": "Hopper",
        CLAIM + "deployment_id": platform.deployment_id, CLAIM + "message_type": "LtiResourceLinkRequest",
        CLAIM + "version": "1.3.0", CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        CLAIM + "resource_link": {"id": "rl-1"}, CLAIM + "custom": {"id": world["uuid"]},
        CLAIM + "target_link_uri": f"{live_server.url}/lti/launch",
    }
    if lti1p1 is not None:
        claim = dict(lti1p1)
        if "oauth_consumer_key_sign" not in claim:
            claim["oauth_consumer_key_sign"] = _claim_sign(secret or world["secret"], platform, now + 300,
                                                           auth["nonce"][0], hex_variant)
        claims[CLAIM + "lti1p1"] = claim
    return browser.post(f"{live_server.url}/lti/launch", data={
        "id_token": platform.sign(claims, expiration=None), "state": auth["state"][0]},
        allow_redirects=False, timeout=10)


@pytest.mark.parametrize("hex_variant", [False, True])
def test_a_proven_claim_reuses_the_lti11_account_and_remembers_the_key(live_server, world, platform, hex_variant):
    _legacy_launch(live_server, world, "legacy-42")
    response = _lti13_launch(live_server, world, platform, sub="new-sub-1", hex_variant=hex_variant,
                             lti1p1={"oauth_consumer_key": KEY, "user_id": "legacy-42"})
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith(f"/course/{world['course_id']}")
    with live_server.app.app_context():
        legacy_identity = db.session.scalar(db.select(LtiIdentity).where(LtiIdentity.issuer == f"urn:lti11:{KEY}"))
        new_identity = db.session.scalar(db.select(LtiIdentity).where(LtiIdentity.issuer == platform.issuer))
        assert new_identity.subject == "new-sub-1" and new_identity.user_id == legacy_identity.user_id
        assert db.session.scalar(db.select(db.func.count(User.id))) == 1
        deployment = db.session.scalar(db.select(Deployment).where(Deployment.deployment_id == platform.deployment_id))
        assert deployment.legacy_consumer_key == KEY


def test_without_user_id_the_sub_is_the_legacy_user(live_server, world, platform):
    _legacy_launch(live_server, world, "same-id")
    response = _lti13_launch(live_server, world, platform, sub="same-id", lti1p1={"oauth_consumer_key": KEY})
    assert response.status_code == 302
    with live_server.app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 1
        assert db.session.scalar(db.select(db.func.count(LtiIdentity.id))) == 2


def test_an_unknown_legacy_user_gets_a_new_account(live_server, world, platform):
    _legacy_launch(live_server, world, "legacy-42")
    response = _lti13_launch(live_server, world, platform, sub="someone-else",
                             lti1p1={"oauth_consumer_key": KEY, "user_id": "never-launched"})
    assert response.status_code == 302
    with live_server.app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 2


def test_an_invalid_sign_refuses_the_launch_and_binds_nothing(live_server, world, platform):
    _legacy_launch(live_server, world, "legacy-42")
    response = _lti13_launch(live_server, world, platform, sub="new-sub-1", secret=secrets.token_hex(8),
                             lti1p1={"oauth_consumer_key": KEY, "user_id": "legacy-42"})
    assert response.status_code == 401
    assert "Invalid &#39;oauth_consumer_key_sign&#39; signature in lti1p1 claim." in response.text
    missing = _lti13_launch(live_server, world, platform, sub="new-sub-1",
                            lti1p1={"oauth_consumer_key": KEY, "oauth_consumer_key_sign": ""})
    assert missing.status_code == 401
    assert "Missing &#39;oauth_consumer_key_sign&#39; property in lti1p1 migration claim." in missing.text
    with live_server.app.app_context():
        assert db.session.scalar(db.select(db.func.count(LtiIdentity.id))) == 1
        deployment = db.session.scalar(db.select(Deployment).where(Deployment.deployment_id == platform.deployment_id))
        assert deployment.legacy_consumer_key is None
        failed = db.session.scalars(db.select(LaunchLog).where(LaunchLog.outcome == "failure")).all()
        assert len(failed) == 2


def test_a_claim_signed_with_another_resources_secret_does_not_reach_the_lti11_account(live_server, world,
                                                                                      platform):
    """Whoever published a resource with their own secret may sign a claim for the same consumer key: it proves
    that credential only, so the LTI 1.1 user who came through the genuine secret keeps their account to
    themselves."""
    _legacy_launch(live_server, world, "legacy-42")
    with live_server.app.app_context():
        factories.make_resource(factories.make_course("ART", "Art"), legacy=True, secret="AttackerChosenSecret123")
        legacy_user_id = db.session.scalar(db.select(LtiIdentity.user_id))
    _forged_consumer_launch(live_server, "AttackerChosenSecret123")
    response = _lti13_launch(live_server, world, platform, sub="new-sub-1", secret="AttackerChosenSecret123",
                             lti1p1={"oauth_consumer_key": KEY, "user_id": "legacy-42"})
    assert response.status_code == 302, response.text
    with live_server.app.app_context():
        new_identity = db.session.scalar(db.select(LtiIdentity).where(LtiIdentity.subject == "new-sub-1"))
        assert new_identity.user_id != legacy_user_id
        assert db.session.scalar(db.select(db.func.count(User.id))) == 3  # legacy, forger's 1.1, new 1.3


def _forged_consumer_launch(live_server, secret: str) -> None:
    """The attacker's own resource launched once with the genuine consumer key, so the key knows that secret."""
    with live_server.app.app_context():
        resource_id = db.session.scalar(db.select(PublishedResource.id).where(PublishedResource.secret == secret))
    url = f"{live_server.url}/lti/v1/launch/{resource_id}"
    body = sign_launch(url, KEY, secret, launch_params(user_id="forger-1"))
    assert requests.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                         allow_redirects=False, timeout=10).status_code == 302
