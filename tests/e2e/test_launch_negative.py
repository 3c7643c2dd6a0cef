"""Every refused login and launch (9 "Negative cases"): the exact message and status, one
launch-log row with a cause and fix, and nothing else written (except the consumed login state and, when
held, the pending deployment)."""
from __future__ import annotations

import html
import time
from datetime import timedelta
from typing import Any, Callable

import jwt
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Deployment, LaunchLog, PlatformRegistration, User
from app.models.base import utcnow
from app.services.platforms.settings import save_lti_settings
from tests.e2e.launch_world import World, changed_tables, row_counts, world  # noqa: F401  (fixture)
from tests.e2e.lti_launcher import INSTRUCTOR, REMOVE, new_key_pair

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
COOKIES = ("Please make sure you have cookies enabled in this browser and that you are not in private or "
           "incognito mode")
REGISTRATION = "Invalid launch data or tool configuration. A platform registration could not be found"


def _text(response) -> str:
    return html.unescape(response.text)


def _last_log(world: World) -> LaunchLog:
    with world.context():
        return db.session.execute(select(LaunchLog).order_by(LaunchLog.id.desc())).scalars().first()


def _assert_refused(world: World, response, status: int, message: str, check_code: str,
                    before: dict[str, int], allowed: set[str]) -> LaunchLog:
    assert response.status_code == status, response.text[:500]
    text = _text(response)
    assert message in text
    assert "The tool could not be launched" in text
    row = _last_log(world)
    assert f"Reference: {row.id}" in text
    assert row.outcome in ("failure", "pending") and row.check_code == check_code
    assert row.cause and row.fix and "{" not in row.cause + row.fix
    # The platform keyset cache may be filled: it is the platform's key material, not launch data.
    assert changed_tables(before, row_counts(world)) <= allowed | {"launch_log", "platform_keyset"}
    return row


def _now() -> int:
    return int(time.time())


def _platform_signer(world: World, **headers: Any) -> Callable[[dict], str]:
    return lambda claims: world.platform.sign_with_platform_key(claims, **headers)


# (id, LinkSpec fields given the world, status, message, check code)
LAUNCH_CASES: list[tuple[str, Callable[[World], dict], int, str, str]] = [
    ("alg none", lambda w: {"signer": lambda c: jwt.encode(c, None, algorithm="none",
                                                             headers={"kid": w.platform.current_kid()})},
     401, "Unsupported JWT algorithm 'none'.", "alg_unsupported"),
    ("alg HS256", lambda w: {"signer": lambda c: jwt.encode(c, "a-shared-secret-of-enough-length!!",
                                                              algorithm="HS256",
                                                              headers={"kid": w.platform.current_kid()})},
     401, "Unsupported JWT algorithm 'HS256'.", "alg_unsupported"),
    ("missing kid", lambda w: {"signer": lambda c: jwt.encode(c, w.platform.server.private_key_pem,
                                                                algorithm="RS256")},
     401, "No KID specified in the JWT Header.", "kid_missing"),
    ("bad signature", lambda w: {"signer": lambda c: jwt.encode(c, new_key_pair()[0], algorithm="RS256",
                                                                  headers={"kid": w.platform.current_kid()})},
     401, "Invalid signature on id_token", "bad_signature"),
    ("wrong iss", lambda w: {"claims": {"iss": "https://evil.example"}}, 401, REGISTRATION,
     "registration_not_found"),
    ("wrong aud", lambda w: {"claims": {"aud": "someone-else", "azp": REMOVE}}, 401, REGISTRATION,
     "registration_not_found"),
    ("aud array without azp", lambda w: {"claims": {"aud": [w.platform.client_id, "other"], "azp": REMOVE}},
     401, "Invalid id_token: the azp claim is missing or does not match the client ID.", "azp_invalid"),
    ("wrong azp", lambda w: {"claims": {"azp": "other"}},
     401, "Invalid id_token: the azp claim is missing or does not match the client ID.", "azp_invalid"),
    ("expired", lambda w: {"claims": {"iat": _now() - 600, "exp": _now() - 120},
                           "signer": _platform_signer(w)}, 401, "The id_token has expired.", "token_expired"),
    ("iat 90 s in the future", lambda w: {"claims": {"iat": _now() + 90, "exp": _now() + 600},
                                          "signer": _platform_signer(w)},
     401, "The id_token was issued in the future. Check the server clocks.", "token_future"),
    ("iat 1e30", lambda w: {"claims": {"iat": 1e30, "exp": _now() + 600}, "signer": _platform_signer(w)},
     401, "Invalid id_token: its iat claim is not a valid time.", "token_times"),
    ("negative iat", lambda w: {"claims": {"iat": -1e30, "exp": _now() + 600}, "signer": _platform_signer(w)},
     401, "Invalid id_token: its iat claim is not a valid time.", "token_times"),
    ("exp 1e300", lambda w: {"claims": {"exp": 1e300}, "signer": _platform_signer(w)},
     401, "Invalid id_token: its exp claim is not a valid time.", "token_times"),
    ("sub of 256 characters", lambda w: {"claims": {"sub": "s" * 256}},
     400, "Invalid id_token: the sub claim is too long.", "claim_length"),
    ("deployment id of 256 characters", lambda w: {"claims": {CLAIM + "deployment_id": "d" * 256}},
     400, "Invalid id_token: the deployment_id claim is too long.", "claim_length"),
    ("resource link id of 256 characters", lambda w: {"claims": {CLAIM + "resource_link": {"id": "r" * 256}}},
     400, "Invalid id_token: the resource_link.id claim is too long.", "claim_length"),
    ("missing nonce", lambda w: {"claims": {"nonce": REMOVE}}, 401, "Missing Nonce.", "nonce_invalid"),
    ("missing deployment id", lambda w: {"claims": {CLAIM + "deployment_id": REMOVE}},
     400, "No deployment ID was specified", "deployment_id_missing"),
    ("missing message type", lambda w: {"claims": {CLAIM + "message_type": REMOVE}},
     400, "Invalid message type", "message_type"),
    ("deep linking request at the launch URL", lambda w: {"message_type": "LtiDeepLinkingRequest"},
     400, "Unrecognized message type.", "message_type"),
    ("missing version", lambda w: {"claims": {CLAIM + "version": REMOVE}}, 400, "Missing LTI Version", "version"),
    ("wrong version", lambda w: {"claims": {CLAIM + "version": "1.1.0"}},
     400, "Incorrect version, expected 1.3.0", "version"),
    ("empty sub", lambda w: {"claims": {"sub": ""}}, 400, "Must have a user (sub)", "sub_missing"),
    ("missing roles", lambda w: {"claims": {CLAIM + "roles": REMOVE}}, 400, "Missing Roles Claim", "roles_missing"),
    ("missing resource link", lambda w: {"claims": {CLAIM + "resource_link": REMOVE}},
     400, "Missing Resource Link Id", "resource_link_missing"),
    ("target_link_uri claim to another host", lambda w: {"claims": {CLAIM + "target_link_uri":
                                                                    "https://other.example/lti/launch"}},
     400, "The target_link_uri claim does not point to this tool.", "target_link_uri"),
    ("lti1p1 claim without sign", lambda w: {"claims": {CLAIM + "lti1p1": {"oauth_consumer_key": "old-key"}}},
     401, "Missing 'oauth_consumer_key_sign' property in lti1p1 migration claim.", "oauth_signature"),
    ("missing custom id", lambda w: {"resource_uuid": None, "claims": {CLAIM + "context": REMOVE}},
     400, "Invalid launch data. The custom claim field 'id' is required to launch an activity or resource over "
          "LTI Advantage.", "missing_custom_id"),
    ("missing custom id in a context with no linked course", lambda w: {"resource_uuid": None},
     400, "This course has not been set up yet. A teacher must first add the course through content selection "
          "(add this tool's content to the course, for example to a module), then open it once from there.",
     "missing_custom_id"),
    ("unknown custom id", lambda w: {"resource_uuid": "6f0e4b4e-0000-4000-8000-000000000000"},
     404, "Invalid launch data. The resource '6f0e4b4e-0000-4000-8000-000000000000' is unavailable or does not "
          "exist.", "resource_unavailable"),
]


@pytest.mark.parametrize("case", LAUNCH_CASES, ids=[case[0] for case in LAUNCH_CASES])
def test_tampered_or_incomplete_id_tokens_are_refused(world, case):
    _name, fields, status, message, check_code = case
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="neg-1", **fields(world)))
    before = row_counts(world)
    result = browser.submit(started)
    _assert_refused(world, result.launch, status, message, check_code, before, {"lti_storage_entry"})
    with world.context():
        assert db.session.execute(select(User)).scalars().all() == []


def test_a_token_45_seconds_in_the_future_passes_with_the_default_leeway(world):
    hint = world.link(sub="clock-1", claims={"iat": _now() + 45, "exp": _now() + 600},
                      signer=_platform_signer(world))
    assert world.browser().launch(world.platform, hint).launch.status_code == 302
    assert _last_log(world).clock_skew in range(40, 50)


def test_unknown_kid_is_refetched_once_then_refused(world):
    assert world.browser().launch(world.platform, world.link(sub="warm")).launch.status_code == 302
    assert world.platform.jwks_fetches() == 1
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="neg-kid", signer=_platform_signer(world, kid="nope")))
    before = row_counts(world)
    row = _assert_refused(world, browser.submit(started).launch, 401,
                          "Unable to find a public key which matches your JWT.", "kid_unknown", before,
                          {"lti_storage_entry"})
    assert "nope" in row.cause and world.platform.jwks_url in row.cause
    assert world.platform.jwks_fetches() == 2
    # Within 30 s another unknown kid does not make the platform serve its keyset again.
    second = world.browser()
    started = second.start(world.platform, world.link(sub="neg-kid2", signer=_platform_signer(world, kid="nah")))
    assert second.submit(started).launch.status_code == 401
    assert world.platform.jwks_fetches() == 2


def test_replayed_id_token_is_refused(world):
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="replay"))
    assert browser.submit(started).launch.status_code == 302
    before = row_counts(world)
    _assert_refused(world, browser.submit(started).launch, 401, COOKIES, "state_invalid", before, set())
    # The same id_token (same nonce) with a fresh login's state: the nonce does not match that login.
    fresh = browser.start(world.platform, world.link(sub="replay"))
    before = row_counts(world)
    _assert_refused(world, browser.submit(fresh, id_token=started.form["id_token"]).launch, 401, "Invalid Nonce.",
                    "nonce_invalid", before, set())


def test_state_mismatch_or_missing_cookie_is_refused(world):
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="state"))
    before = row_counts(world)
    _assert_refused(world, browser.submit(started, state="state-forged").launch, 401, COOKIES, "state_invalid",
                    before, set())
    other = world.browser()  # another browser posts the form: it has no state cookie
    _assert_refused(world, other.post(started.form["action"], {"id_token": started.form["id_token"],
                                                               "state": started.form["state"]}),
                    401, COOKIES, "state_cookie_missing", before, set())
    # The login state survived both attempts: the right browser can still use it.
    assert browser.submit(started).launch.status_code == 302


def test_post_without_id_token_malformed_jwt_and_lti11_posts_are_refused(world):
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="shape"))
    before = row_counts(world)
    _assert_refused(world, browser.submit(started, id_token=None).launch, 400, "Error: launch requires id_token",
                    "id_token_missing", before, set())
    _assert_refused(world, browser.submit(started, id_token="abc.def").launch, 400,
                    "Invalid id_token, JWT must contain 3 parts", "jwt_malformed", before, set())
    lti11 = browser.post("/lti/launch", {"oauth_consumer_key": "key", "lti_message_type":
                                         "basic-lti-launch-request"})
    _assert_refused(world, lti11, 400, "This is an LTI 1.1 launch sent to the LTI 1.3 Tool URL.",
                    "wrong_lti_version", before, set())


@pytest.mark.parametrize("policy", ["hold", "reject"])
def test_unknown_deployment_is_held_or_rejected(world, policy):
    with world.context():
        save_lti_settings({"unknown_deployments": policy})
        db.session.commit()
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="dep", claims={CLAIM + "deployment_id": "dep-new"}))
    before = row_counts(world)
    if policy == "hold":
        row = _assert_refused(world, browser.submit(started).launch, 403,
                              "Launches from this deployment are waiting for approval by the administrator of this "
                              "tool (deployment ID: dep-new).", "deployment_pending", before,
                              {"lti_storage_entry", "deployment"})
        assert row.outcome == "pending"
        with world.context():
            held = db.session.execute(select(Deployment).where(Deployment.deployment_id == "dep-new")).scalar_one()
            assert (held.status, held.attempts, held.context_title_seen) == ("pending", 1, "Biology 101")
        # Still unapproved: the next launch is refused the same way and counted.
        again = world.browser()
        response = again.launch(world.platform, world.link(sub="dep", claims={CLAIM + "deployment_id":
                                                                              "dep-new"})).launch
        assert response.status_code == 403 and "waiting for approval" in _text(response)
        with world.context():
            held = db.session.execute(select(Deployment).where(Deployment.deployment_id == "dep-new")).scalar_one()
            assert held.attempts == 2
    else:
        row = _assert_refused(world, browser.submit(started).launch, 403,
                              "Invalid launch data or tool configuration. The deployment could not be found "
                              "(deployment ID: dep-new).", "deployment_unknown", before, {"lti_storage_entry"})
        assert "deployment" not in changed_tables(before, row_counts(world))
    assert row.deployment_id == "dep-new"


@pytest.mark.parametrize("change, status, message, check_code", [
    ({"enabled": False}, 404, "is unavailable or does not exist.", "resource_unavailable"),
    ({"activity_id": None}, 404, "is unavailable or does not exist.", "resource_unavailable"),
    ({"available_to": "selected"}, 404, "is unavailable or does not exist.", "resource_unavailable"),
    ({"enrol_start": "future"}, 403, "Enrolment has not started.", "enrolment_dates"),
    ({"enrol_end": "past"}, 403, "Enrolment finished.", "enrolment_dates"),
], ids=["disabled", "activity deleted", "restricted to another registration", "before start", "after end"])
def test_unusable_resources_are_refused_before_any_account_is_created(world, change, status, message, check_code):
    values = {key: {"future": utcnow() + timedelta(days=1), "past": utcnow() - timedelta(days=1)}.get(value, value)
              for key, value in change.items()}
    world.update_resource(world.activity_resource_id, **values)
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="res"))
    before = row_counts(world)
    row = _assert_refused(world, browser.submit(started).launch, status, message, check_code, before,
                          {"lti_storage_entry"})
    assert row.published_resource_id == world.activity_resource_id or check_code == "resource_unavailable"


def test_maximum_users_is_enforced_before_creating_the_next_account(world):
    world.update_resource(world.activity_resource_id, max_enrolled=1)
    assert world.browser().launch(world.platform, world.link(sub="first")).launch.status_code == 302
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="second"))
    before = row_counts(world)
    _assert_refused(world, browser.submit(started).launch, 403,
                    "The maximum number of remote users allowed to access the tool has been reached.",
                    "max_users", before, {"lti_storage_entry"})
    # Someone already enrolled still gets in.
    assert world.browser().launch(world.platform, world.link(sub="first")).launch.status_code == 302


def test_suspended_account_and_disallowed_creation_are_refused(world):
    assert world.browser().launch(world.platform, world.link(sub="sus")).launch.status_code == 302
    with world.context():
        user = db.session.execute(select(User)).scalar_one()
        user.suspended = True
        save_lti_settings({"allow_account_creation": False})
        db.session.commit()
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="sus"))
    before = row_counts(world)
    _assert_refused(world, browser.submit(started).launch, 403,
                    "This account is suspended. Please contact the administrator of this tool.",
                    "account_suspended", before, {"lti_storage_entry"})
    started = browser.start(world.platform, world.link(sub="newcomer"))
    before = row_counts(world)
    _assert_refused(world, browser.submit(started).launch, 403,
                    "Account creation is currently prohibited on this site.", "account_creation_prohibited",
                    before, {"lti_storage_entry"})


LOGIN_CASES = [
    ("missing iss", {"iss": None}, "Could not find issuer", "login_parameters"),
    ("missing login_hint", {"login_hint": None}, "Could not find login hint", "login_parameters"),
    ("missing target_link_uri", {"target_link_uri": None}, "Missing target_link_uri", "login_parameters"),
    ("foreign target_link_uri", {"target_link_uri": "https://evil.example/lti/launch"},
     "The target_link_uri param must match one of the redirect URIs set during tool registration.",
     "target_link_uri"),
    ("unknown issuer", {"iss": "https://unknown.example"},
     "LTI 1.3 Registration not found for Issuer https://unknown.example and Client ID courseport-client.",
     "registration_not_found"),
    ("unknown client id", {"client_id": "nobody"},
     "Registration not found for Issuer", "registration_not_found"),
]


@pytest.mark.parametrize("case", LOGIN_CASES, ids=[case[0] for case in LOGIN_CASES])
def test_bad_logins_are_refused_without_state(world, case):
    _name, overrides, message, check_code = case
    before = row_counts(world)
    result = world.browser().start(world.platform, world.link(sub="login"), **overrides)
    _assert_refused(world, result.login, 400, message, check_code, before, set())
    assert world.platform.auth_requests() == []


def test_pending_registration_and_foreign_login_id_are_explained_in_the_log(world):
    with world.context():
        registration = db.session.get(PlatformRegistration, world.registration_id)
        registration.status = "pending"
        login_id = registration.login_id
        db.session.commit()
    before = row_counts(world)
    result = world.browser().start(world.platform, world.link(sub="p"))
    row = _assert_refused(world, result.login, 400, "Registration not found", "registration_pending", before,
                          set())
    assert row.cause == "Registration 'Test LMS' is still Pending: its platform details are incomplete."
    with world.context():
        db.session.get(PlatformRegistration, world.registration_id).status = "active"
        db.session.commit()
    result = world.browser().start(world.platform, world.link(sub="p"), client_id="another-client",
                                   login_id=login_id)
    row = _assert_refused(world, result.login, 400, "Registration not found", "client_id_mismatch", before, set())
    assert row.fix == ("Give the platform this registration's Initiate login URL, or register client ID "
                       "another-client separately.")


def test_instructor_refusals_are_logged_with_the_subject(world):
    browser = world.browser()
    started = browser.start(world.platform, world.link(sub="t-9", roles=INSTRUCTOR,
                                                       claims={CLAIM + "version": "2.0"}))
    row = _assert_refused(world, browser.submit(started).launch, 400, "Incorrect version, expected 1.3.0",
                          "version", row_counts(world), {"lti_storage_entry"})
    assert (row.subject, row.issuer, row.client_id, row.registration_id) == \
        ("t-9", world.platform.issuer, world.platform.client_id, world.registration_id)
    assert started.form["id_token"] not in str(vars(row))
