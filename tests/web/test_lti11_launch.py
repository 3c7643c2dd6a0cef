"""POST /lti/v1/launch/{tool_id} refusals (9 negative cases): each gives its message and a 4xx
page (or, after a verified signature, goes back to the LMS with lti_errormsg), logs one row, writes nothing else.

The test client arrives as http://localhost while the public base URL is http://127.0.0.1:5000, so every
passing launch here also proves the signature is checked against the public URL, not the Host header.
"""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.extensions import db
from app.models import (
    Enrolment, LaunchLog, Lti11Consumer, Lti11Nonce, LtiIdentity, LtiUser, SiteSetting, User,
)
from app.models.base import utcnow
from tests import factories
from tests.e2e.legacy_consumer import launch_params, sign_launch

BASE = "http://127.0.0.1:5000"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def resource(app):
    return factories.make_resource(factories.make_course("BIO", "Biology"), legacy=True)


def _post(client, resource, body: str, tool_id: int | None = None):
    return client.post(f"/lti/v1/launch/{tool_id or resource.id}", data=body, content_type=FORM)


def _signed(resource, *, key="lms-key", secret=None, url=None, **kwargs) -> str:
    params = kwargs.pop("params", None) or launch_params()
    return sign_launch(url or f"{BASE}/lti/v1/launch/{resource.id}", key, secret or resource.secret, params,
                       **kwargs)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _assert_refused(response, status: int, message: str, *, nonces: int = 0, consumers: int = 0) -> LaunchLog:
    assert response.status_code == status
    text = response.get_data(as_text=True).replace("&#39;", "'")
    assert f"Failed request. Reason: {message}" in text
    log = db.session.scalars(db.select(LaunchLog)).one()
    assert f"Reference: {log.id}" in text
    assert (log.kind, log.outcome) == ("LTI 1.1 launch", "failure") and log.cause and log.fix
    assert "{" not in log.cause + log.fix  # every placeholder substituted
    for model in (User, LtiIdentity, Enrolment, LtiUser):
        assert _count(model) == 0
    assert (_count(Lti11Nonce), _count(Lti11Consumer)) == (nonces, consumers)
    return log


@pytest.mark.parametrize("case, status, message, code", [
    ("wrong secret", 401, "OAuth signature check failed - perhaps an incorrect secret or timestamp.",
     "oauth_signature"),
    ("tampered", 401, "OAuth signature check failed - perhaps an incorrect secret or timestamp.", "oauth_signature"),
    ("signed for the request host", 401, "OAuth signature check failed - perhaps an incorrect secret or timestamp.",
     "oauth_signature"),
    ("no consumer key", 400, "A required parameter (oauth_consumer_key) was missing", "invalid_request"),
    ("no resource link", 400, "Missing resource link ID.", "invalid_request"),
    ("no user", 400, "The launch did not include a user_id. Anonymous launches are not supported.",
     "invalid_request"),
    ("wrong message type", 400, "Invalid request", "invalid_request"),
    ("wrong version", 400, "Invalid request", "invalid_request"),
    ("unknown LTI 2 key", 401, "Invalid consumer key.", "oauth_signature"),
    ("user_id of 256 characters", 400, "The launch parameter user_id is too long.", "invalid_request"),
    ("outcome URL of 2049 characters", 400, "The launch parameter lis_outcome_service_url is too long.",
     "invalid_request"),
])
def test_refusals_before_verification_show_the_page_even_with_a_return_url(client, resource, case, status,
                                                                           message, code):
    params = launch_params(launch_presentation_return_url="https://lms.example.org/return")
    body = None
    if case == "wrong secret":
        body = _signed(resource, secret="guessed", params=params)
    elif case == "tampered":
        body = _signed(resource, params=params).replace("user-1", "admin")
    elif case == "signed for the request host":
        body = _signed(resource, url=f"http://localhost/lti/v1/launch/{resource.id}", params=params)
    elif case == "no consumer key":
        body = "&".join(p for p in _signed(resource, params=params).split("&")
                        if not p.startswith("oauth_consumer_key="))
    elif case == "unknown LTI 2 key":
        params["lti_version"] = "LTI-2p0"
    elif case == "user_id of 256 characters":
        params["user_id"] = "u" * 256
    elif case == "outcome URL of 2049 characters":
        params["lis_outcome_service_url"] = "https://lms.example.org/" + "o" * 2025
    else:
        drop = {"no resource link": "resource_link_id", "no user": "user_id"}.get(case)
        if drop:
            params.pop(drop)
        if case == "wrong message type":
            params["lti_message_type"] = "ContentItemSelectionRequest"
        if case == "wrong version":
            params["lti_version"] = "LTI-3p0"
    response = _post(client, resource, body or _signed(resource, params=params))
    log = _assert_refused(response, status, message)
    assert log.check_code == code and log.published_resource_id == resource.id
    assert log.consumer_key == (None if case == "no consumer key" else "lms-key")


def test_resource_refusals(client, resource):
    advantage = factories.make_resource(resource.course)
    response = _post(client, advantage, _signed(advantage, secret="x"))
    _assert_refused(response, 400, "The resource is not set up for use over legacy LTI (versions 1.1/2.0). Please "
                                   "contact the administrator of this tool.")
    db.session.execute(db.delete(LaunchLog))
    db.session.commit()
    response = _post(client, resource, _signed(resource), tool_id=resource.id + 100)
    _assert_refused(response, 404, f"Invalid launch data. The resource '{resource.id + 100}' is unavailable or does "
                                   "not exist.")
    db.session.execute(db.delete(LaunchLog))
    resource.enabled = False
    db.session.commit()
    _assert_refused(_post(client, resource, _signed(resource)), 403,
                    f"The resource '{resource.id}' is disabled. Please contact the administrator of this tool.")


def test_an_lti13_launch_at_the_legacy_url_names_the_tool_url(client, resource):
    response = client.post(f"/lti/v1/launch/{resource.id}", data={"id_token": "a.b.c", "state": "s"})
    log = _assert_refused(response, 400, "This is an LTI 1.3 launch sent to a legacy Launch URL. Use the Tool URL "
                                         f"{BASE}/lti/launch with the platform registered for LTI Advantage.")
    assert log.check_code == "wrong_lti_version"


def test_an_lti11_post_at_the_lti13_tool_url_names_the_legacy_url(client, resource):
    response = client.post("/lti/launch", data=_signed(resource), content_type=FORM)
    assert response.status_code == 400
    assert ("This is an LTI 1.1 launch sent to the LTI 1.3 Tool URL. Use the legacy Launch URL shown on the course's "
            "'Published as LTI tools' page, or set the link up for LTI Advantage."
            in response.get_data(as_text=True).replace("&#39;", "'"))


def test_a_stale_timestamp_goes_back_to_the_lms_once_the_signature_verified(client, resource):
    stale = int(time.time()) - 400
    body = _signed(resource, timestamp=stale,
                   params=launch_params(launch_presentation_return_url="https://lms.example.org/return?a=1"))
    response = _post(client, resource, body)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "lms.example.org", "/return")
    query = dict(parse_qsl(target.query))
    assert query["a"] == "1"
    assert query["lti_errormsg"] == "Sorry, there was an error connecting you to the application."
    assert query["lti_errorlog"].startswith(f"Expired timestamp, yours {stale}, ours ")
    log = db.session.scalars(db.select(LaunchLog)).one()
    assert log.check_code == "oauth_timestamp" and abs(log.clock_skew + 400) <= 5
    assert _count(Lti11Nonce) == 0 and _count(User) == 0


def test_a_stale_timestamp_without_a_return_url_gets_the_page(client, resource):
    response = _post(client, resource, _signed(resource, timestamp=int(time.time()) - 400))
    assert response.status_code == 401
    assert "Failed request. Reason: Expired timestamp, yours " in response.get_data(as_text=True)


def test_a_replayed_launch_is_refused(client, resource):
    body = _signed(resource)
    assert _post(client, resource, body).status_code == 302
    users = _count(User)
    response = _post(client, resource, body)
    assert response.status_code == 401
    assert ("Failed request. Reason: Invalid nonce. If you opened the link twice quickly, go back to your course and "
            "open it again." in response.get_data(as_text=True))
    assert _count(User) == users and _count(Lti11Nonce) == 1
    outcomes = [row.outcome for row in db.session.scalars(db.select(LaunchLog).order_by(LaunchLog.id))]
    assert outcomes == ["success", "failure"]


@pytest.mark.parametrize("limit, message", [
    ("max", "The maximum number of remote users allowed to access the tool has been reached."),
    ("not started", "Enrolment has not started."),
    ("finished", "Enrolment finished."),
    ("no creation", "Account creation is currently prohibited on this site."),
])
def test_refusals_after_verification_go_back_to_the_lms_before_any_account_is_made(client, resource, limit,
                                                                                   message):
    if limit == "max":
        resource.max_enrolled = 1
        other = factories.make_user("someone")
        db.session.add(Enrolment(course_id=resource.course_id, user_id=other.id, published_resource_id=resource.id))
    elif limit == "not started":
        resource.enrol_start = utcnow() + timedelta(days=1)
    elif limit == "finished":
        resource.enrol_end = utcnow() - timedelta(days=1)
    else:
        db.session.add(SiteSetting(key="lti.allow_account_creation", value=False))
    db.session.commit()
    users = _count(User)
    body = _signed(resource, params=launch_params(launch_presentation_return_url="https://lms.example.org/return"))
    response = _post(client, resource, body)
    assert response.status_code == 302
    query = dict(parse_qsl(urlsplit(response.headers["Location"]).query))
    assert query == {"lti_errormsg": "Sorry, there was an error connecting you to the application.",
                     "lti_errorlog": message}
    assert _count(User) == users and _count(LtiIdentity) == 0 and _count(LtiUser) == 0
    log = db.session.scalars(db.select(LaunchLog)).one()
    assert (log.outcome, log.subject, log.consumer_key) == ("failure", "user-1", "lms-key")


def test_a_suspended_account_cannot_launch(client, resource):
    assert _post(client, resource, _signed(resource)).status_code == 302
    user = db.session.scalars(db.select(User)).one()
    user.suspended = True
    db.session.commit()
    response = _post(client, resource, _signed(resource))
    assert response.status_code == 403
    assert "This account is suspended. Please contact the administrator of this tool." in response.get_data(
        as_text=True)


def test_consumers_keep_their_details_and_never_get_a_secret(client, resource):
    assert _post(client, resource, _signed(resource)).status_code == 302
    params = launch_params(user_id="user-2", tool_consumer_instance_name="")
    params.pop("tool_consumer_info_version")
    assert _post(client, resource, _signed(resource, params=params)).status_code == 302
    consumer = db.session.scalars(db.select(Lti11Consumer)).one()
    assert (consumer.name, consumer.version, consumer.secret, consumer.lti_version) == (
        "Test LMS", "4.2", None, "LTI-1p0")


def test_without_frame_embedding_the_launch_continues_in_a_new_window(client, resource):
    db.session.add(SiteSetting(key="lti.allow_frame_embedding", value=False))
    db.session.commit()
    response = _post(client, resource, _signed(resource))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "To access the tool, please follow the link below." in text
    handoff = text[text.index('href="/lti/continue/') + len('href="'):]
    handoff = handoff[:handoff.index('"')]
    assert _count(User) == 0  # provisioning happens in the new window
    new_window = client.get(handoff)
    assert new_window.status_code == 302 and new_window.headers["Location"].endswith(f"/course/{resource.course_id}")
    assert _count(LtiIdentity) == 1 and _count(Enrolment) == 1
    assert client.get(handoff).status_code == 400  # single use
