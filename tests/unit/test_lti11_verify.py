"""LTI 1.1 launch verification against launches signed by oauthlib's own Client."""
from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.lti.legacy import launch as lti11
from app.lti.legacy.launch import LegacyLaunchError
from app.models import Lti11Consumer, Lti11Nonce
from tests import factories
from tests.e2e.legacy_consumer import launch_params, sign_launch

BASE = "http://127.0.0.1:5000"


@pytest.fixture
def resource(app):
    course = factories.make_course("BIO", "Biology")
    return factories.make_resource(course, legacy=True)


def _validate(resource, body: str, query: str = ""):
    form = MultiDict(parse_qsl(body, keep_blank_values=True))
    return lti11.validate_launch(resource.id, form, list(form.items(multi=True)), query)


def _signed(resource, secret=None, url=None, **kwargs) -> str:
    params = kwargs.pop("params", None) or launch_params()
    return sign_launch(url or f"{BASE}/lti/v1/launch/{resource.id}", "lms-key", secret or resource.secret,
                       params, **kwargs)


def test_hmac_sha1_launch_verifies_and_reads_the_launch(resource):
    launch = _validate(resource, _signed(resource, params=launch_params(
        roles="Instructor,Learner", custom_force_embed="yes", lis_outcome_service_url="https://lms/outcomes",
        lis_result_sourcedid="src-1", launch_presentation_return_url="https://lms/return")))
    assert launch.is_legacy and launch.legacy["consumer_key"] == "lms-key"
    assert (launch.issuer, launch.subject) == ("urn:lti11:lms-key", "user-1")
    assert launch.roles == ["Instructor", "Learner"] and launch.force_embed
    assert (launch.legacy["outcome_url"], launch.legacy["result_sourcedid"]) == ("https://lms/outcomes", "src-1")
    assert (launch.legacy["consumer_name"], launch.legacy["consumer_guid"]) == ("Test LMS", "lms.example.org")
    assert (launch.given_name, launch.family_name, launch.email) == ("Grace", "Hopper", "grace@lms.example.org")
    assert launch.context == {"id": "course-42", "title": "Biology 101", "label": "BIO101", "types": []}
    assert launch.resource_link == {"id": "link-1", "title": "Week 1"}
    assert (launch.return_url, launch.resource_id) == ("https://lms/return", resource.id)
    assert launch.registration_id is None and launch.message_type == "basic-lti-launch-request"


def test_hmac_sha256_is_accepted(resource):
    assert _validate(resource, _signed(resource, method="HMAC-SHA256")).subject == "user-1"


def test_query_parameters_on_the_launch_url_are_signed_too(resource):
    url = f"{BASE}/lti/v1/launch/{resource.id}?course=7"
    assert _validate(resource, _signed(resource, url=url), "course=7").subject == "user-1"
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, _signed(resource, url=url), "course=8")
    assert error.value.message == lti11.MSG_SIGNATURE


@pytest.mark.parametrize("case", ["wrong secret", "tampered", "other host"])
def test_bad_signatures_fail_with_the_spec_message_before_anything_is_written(resource, case):
    if case == "wrong secret":
        body = _signed(resource, secret="not-the-secret")
    elif case == "tampered":
        body = _signed(resource).replace("user-1", "user-2")
    else:  # signed for the Host it reached, not the public base URL
        body = _signed(resource, url=f"http://internal:8000/lti/v1/launch/{resource.id}")
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, body)
    assert (error.value.status, error.value.message) == (401, lti11.MSG_SIGNATURE)
    assert error.value.check_code == "oauth_signature"
    assert not error.value.verified
    assert db.session.scalar(db.select(db.func.count(Lti11Nonce.id))) == 0


def test_stale_timestamp_is_told_apart_from_a_bad_signature(resource):
    stale = int(time.time()) - 301
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, _signed(resource, timestamp=stale))
    assert error.value.status == 401 and error.value.check_code == "oauth_timestamp"
    assert error.value.message.startswith(f"Expired timestamp, yours {stale}, ours ")
    assert error.value.verified
    assert db.session.scalar(db.select(db.func.count(Lti11Nonce.id))) == 0


def test_timestamp_inside_the_window_passes(resource):
    assert _validate(resource, _signed(resource, timestamp=int(time.time()) + 250)).clock_skew >= 249


def test_a_nonce_is_single_use_per_consumer_key(resource):
    body = _signed(resource, nonce="nonce-0001")
    _validate(resource, body)
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, body)
    assert (error.value.status, error.value.message) == (401, lti11.MSG_NONCE)
    assert error.value.message == ("Invalid nonce. If you opened the link twice quickly, go back to your course and "
                                   "open it again.")
    other_key = sign_launch(f"{BASE}/lti/v1/launch/{resource.id}", "other-key", resource.secret, launch_params(),
                            nonce="nonce-0001")
    assert _validate(resource, other_key).legacy["consumer_key"] == "other-key"
    row = db.session.scalars(db.select(Lti11Nonce).where(Lti11Nonce.consumer_key == "lms-key")).one()
    assert 1780 <= (row.expires_at - lti11.utcnow()).total_seconds() <= 1800


def test_an_expired_nonce_row_does_not_block_its_reuse(resource):
    db.session.add(Lti11Nonce(consumer_key="lms-key", nonce="nonce-0002",
                              expires_at=lti11.utcnow() - lti11.NONCE_LIFETIME))
    db.session.commit()
    assert lti11.consume_nonce("lms-key", "nonce-0002")
    assert not lti11.consume_nonce("lms-key", "nonce-0002")


@pytest.mark.parametrize("drop, change, message", [
    ("oauth_consumer_key", {}, "A required parameter (oauth_consumer_key) was missing"),
    (None, {"lti_message_type": "ContentItemSelectionRequest"}, "Invalid request"),
    (None, {"lti_version": "LTI-1p3"}, "Invalid request"),
    ("resource_link_id", {}, "Missing resource link ID."),
    ("user_id", {}, "The launch did not include a user_id. Anonymous launches are not supported."),
])
def test_required_parameters(resource, drop, change, message):
    params = launch_params(**change)
    params.pop(drop or "", None)
    body = _signed(resource, params=params)
    if drop == "oauth_consumer_key":
        body = "&".join(part for part in body.split("&") if not part.startswith("oauth_consumer_key="))
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, body)
    assert (error.value.status, error.value.message) == (400, message)


def test_resource_checks_come_first(resource, app):
    other = factories.make_resource(resource.course)
    with pytest.raises(LegacyLaunchError) as error:
        _validate(other, _signed(other, secret="x"))
    assert (error.value.status, error.value.message) == (400, lti11.MSG_NOT_LEGACY)
    resource.enabled = False
    db.session.commit()
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, _signed(resource))
    assert (error.value.status, error.value.message) == (
        403, f"The resource '{resource.id}' is disabled. Please contact the administrator of this tool.")
    with pytest.raises(LegacyLaunchError) as error:
        lti11.validate_launch(9999, MultiDict(), [], "")
    assert (error.value.status, error.value.message) == (
        404, "Invalid launch data. The resource '9999' is unavailable or does not exist.")


def test_an_id_token_at_the_legacy_url_names_the_tool_url(resource):
    with pytest.raises(LegacyLaunchError) as error:
        lti11.validate_launch(resource.id, MultiDict({"id_token": "a.b.c", "state": "s"}), [], "")
    assert (error.value.status, error.value.message) == (
        400, f"This is an LTI 1.3 launch sent to a legacy Launch URL. Use the Tool URL {BASE}/lti/launch with the "
             "platform registered for LTI Advantage.")


def test_lti2_keys_use_their_registered_secret_and_unknown_lti2_keys_are_refused(resource):
    db.session.add(Lti11Consumer(published_resource_id=resource.id, consumer_key="proxy-guid", secret="s" * 32,
                                 lti_version="LTI-2p0"))
    db.session.commit()
    params = launch_params(lti_version="LTI-2p0")
    url = f"{BASE}/lti/v1/launch/{resource.id}"
    assert _validate(resource, sign_launch(url, "proxy-guid", "s" * 32, params)).legacy["lti_version"] == "LTI-2p0"
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, sign_launch(url, "proxy-guid", resource.secret, params))
    assert error.value.message == lti11.MSG_SIGNATURE
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, sign_launch(url, "never-registered", resource.secret, params))
    assert (error.value.status, error.value.message) == (401, "Invalid consumer key.")


def test_errors_go_back_to_the_return_url_with_the_message():
    url = lti11.error_return_url("https://lms/return?a=1", "Invalid nonce.")
    assert urlsplit(url).netloc == "lms"
    assert parse_qsl(urlsplit(url).query) == [
        ("a", "1"), ("lti_errormsg", "Sorry, there was an error connecting you to the application."),
        ("lti_errorlog", "Invalid nonce.")]
    assert lti11.error_return_url("javascript:alert(1)", "m") is None
    assert lti11.error_return_url(None, "m") is None


def test_only_errors_after_verification_carry_the_return_url(resource):
    body = _signed(resource, secret="wrong", params=launch_params(launch_presentation_return_url="https://lms/r"))
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, body)
    assert not error.value.verified
    stale = _signed(resource, timestamp=int(time.time()) - 400,
                    params=launch_params(launch_presentation_return_url="https://lms/r"))
    with pytest.raises(LegacyLaunchError) as error:
        _validate(resource, stale)
    assert error.value.verified and error.value.return_url == "https://lms/r"
