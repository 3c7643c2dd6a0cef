"""POST /lti/v2/register/{tool_id}/{token} against a consumer serving a profile and a ToolProxy
endpoint over real HTTP; what the consumer RECEIVED is checked, and nothing is saved on failure."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from app.extensions import db
from app.lti.legacy.tool_proxy import MSG_REGISTRATION_FAILED as ONE_MESSAGE
from app.models import LaunchLog, Lti11Consumer
from tests import factories


@pytest.fixture
def consumer(consumer):
    consumer.secrets["reg-key"] = "reg-password"
    return consumer


@pytest.fixture
def resource(app):
    course = factories.make_course("BIO", "Biology")
    return factories.make_resource(course, legacy=True, name="Biology tool")


def _form(consumer, **overrides):
    form = {"lti_message_type": "ToolProxyRegistrationRequest", "lti_version": "LTI-2p0", "reg_key": "reg-key",
            "reg_password": "reg-password", "tc_profile_url": f"{consumer.url}/profile",
            "launch_presentation_return_url": "https://lms.example.org/return?x=1"}
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def _register(client, resource, form, token=None):
    return client.post(f"/lti/v2/register/{resource.id}/{token or resource.legacy_token}", data=form)


def _continue(response) -> dict[str, str]:
    text = response.get_data(as_text=True)
    start = text.index('href="https://lms.example.org/return?') + len('href="')
    url = text[start:text.index('"', start)].replace("&amp;", "&")
    assert urlsplit(url).netloc == "lms.example.org"
    return dict(parse_qsl(urlsplit(url).query))


def _consumers() -> list[Lti11Consumer]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Lti11Consumer)))


def test_registration_posts_a_signed_tool_proxy_and_saves_the_consumer(client, consumer, resource):
    response = _register(client, resource, _form(consumer))
    assert response.status_code == 200
    assert "Successful registration" in response.get_data(as_text=True)
    assert _continue(response) == {"x": "1", "lti_msg": "Successful registration", "status": "success",
                                   "tool_proxy_guid": "guid-from-lms-0001"}
    [received] = [item for item in consumer.received if item.path == "/toolproxy"]
    assert received.signature_valid and received.body_hash_valid and received.consumer_key == "reg-key"
    assert received.headers["Content-Type"] == "application/vnd.ims.lti.v2.toolproxy+json"
    [proxy] = consumer.tool_proxies
    assert proxy["@context"] == "http://purl.imsglobal.org/ctx/lti/v2/ToolProxy" and proxy["@type"] == "ToolProxy"
    assert proxy["lti_version"] == "LTI-2p0" and proxy["tool_consumer_profile"] == f"{consumer.url}/profile"
    profile = proxy["tool_profile"]
    info = profile["product_instance"]["product_info"]
    assert info["product_name"]["default_value"] == "Biology tool" and info["product_version"] == "1.0"
    assert info["product_family"]["code"] == resource.legacy_token
    assert info["product_family"]["vendor"]["code"] == "courseport"
    assert info["product_family"]["vendor"]["website"] == "http://127.0.0.1:5000/"
    assert profile["base_url_choice"][0]["default_base_url"] == "http://127.0.0.1:5000"
    [handler] = profile["resource_handler"]
    [message] = handler["message"]
    assert message["message_type"] == "basic-lti-launch-request"
    assert message["path"] == f"/lti/v1/launch/{resource.id}"
    assert {"User.id", "Person.email.primary", "Result.sourcedId", "Membership.role"} <= set(
        message["enabled_capability"])
    contract = proxy["security_contract"]
    assert len(contract["shared_secret"]) == 32
    assert [(s["service"], s["action"]) for s in contract["tool_service"]] == [
        ("tcp:ToolProxy.collection", ["POST"]), ("tcp:ToolProxyBindingMemberships", ["GET"])]
    [saved] = _consumers()
    assert (saved.published_resource_id, saved.consumer_key, saved.secret, saved.lti_version) == (
        resource.id, "guid-from-lms-0001", contract["shared_secret"], "LTI-2p0")
    assert (saved.name, saved.version, saved.guid) == ("Example School", "testlms-4.2", "lms-instance-guid")
    assert saved.profile["@type"] == "ToolConsumerProfile"
    assert "shared_secret" not in saved.tool_proxy["security_contract"]
    assert contract["shared_secret"] not in response.get_data(as_text=True)


def test_without_user_sync_no_memberships_service_is_needed(client, consumer, resource):
    resource.member_sync = False
    db.session.commit()
    consumer.profile_override = consumer.profile(with_memberships=False)
    assert _register(client, resource, _form(consumer)).status_code == 200
    assert [s["action"] for s in consumer.tool_proxies[0]["security_contract"]["tool_service"]] == [["POST"]]


@pytest.mark.parametrize("change, message", [
    ("no profile", "Tool consumer profile not accessible."),
    ("not json", "Invalid JSON in tool consumer profile."),
    ("no launch capability", "Required capability not offered - basic-lti-launch-request"),
    ("no memberships", "Required service(s) not offered - application/vnd.ims.lis.v2.membershipcontainer+json"),
    ("no services", "Required service(s) not offered - application/vnd.ims.lti.v2.toolproxy+json, "
                    "application/vnd.ims.lis.v2.membershipcontainer+json"),
    ("proxy rejected", "Could not establish proxy with consumer."),
    ("wrong reg password", "Could not establish proxy with consumer."),
])
def test_failures_go_back_with_one_message_log_the_reason_and_save_nothing(client, consumer, resource, change,
                                                                           message):
    form = _form(consumer)
    if change == "no profile":
        consumer.profile_status = 500
    elif change == "not json":
        consumer.profile_raw = "<html>not { json"
    elif change == "no launch capability":
        consumer.profile_override = {**consumer.profile(), "capability_offered": ["User.id"]}
    elif change == "no memberships":
        consumer.profile_override = consumer.profile(with_memberships=False)
    elif change == "no services":
        consumer.profile_override = {**consumer.profile(), "service_offered": []}
    elif change == "proxy rejected":
        consumer.toolproxy_status = 200
    else:
        form["reg_password"] = "not-the-password"
    response = _register(client, resource, form)
    assert response.status_code == 400
    assert f"Failed request. Reason: {ONE_MESSAGE}" in response.get_data(as_text=True).replace("&#39;", "'")
    assert _continue(response) == {"x": "1", "status": "failure", "lti_errormsg": ONE_MESSAGE}
    assert _consumers() == []
    [row] = db.session.scalars(db.select(LaunchLog)).all()
    assert row.cause.startswith(message)


@pytest.mark.parametrize("overrides, message", [
    ({"lti_message_type": "basic-lti-launch-request"}, "Invalid request"),
    ({"lti_version": "LTI-1p0"}, "Invalid request"),
    ({"reg_key": None}, "Invalid request"),
    ({"reg_password": ""}, "Invalid request"),
    ({"tc_profile_url": None}, "Invalid request"),
    ({"tc_profile_url": "file:///etc/passwd"}, "Invalid request"),
    ({"launch_presentation_return_url": None}, "Return URL was not set."),
    ({"launch_presentation_return_url": "javascript:alert(1)"}, "Invalid request"),
])
def test_malformed_requests_are_refused_before_contacting_anyone(client, consumer, resource, overrides, message):
    response = _register(client, resource, _form(consumer, **overrides))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert f"Failed request. Reason: {message}" in text
    assert "Continue" not in text
    assert consumer.received == [] and _consumers() == []


def test_token_and_resource_checks(client, consumer, resource):
    response = _register(client, resource, _form(consumer), token="f" * 32)
    assert response.status_code == 404
    assert "The token was incorrect." in response.get_data(as_text=True)
    resource.enabled = False
    db.session.commit()
    assert _register(client, resource, _form(consumer)).status_code == 403
    assert consumer.received == [] and _consumers() == []


def test_the_registration_post_needs_no_csrf_token_but_other_forms_do(client, consumer, resource):
    assert client.post("/logout").status_code == 400
    assert _register(client, resource, _form(consumer)).status_code == 200


@pytest.mark.parametrize("profile_url", [
    "{consumer}/profile",  # a live service on loopback
    "http://127.0.0.1:9/profile",  # a closed port on loopback
    "http://10.1.2.3/profile",  # the private network
    "http://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
    "http://[::1]/profile",
    "http://localhost./profile",
    "http://no-such-host.invalid/profile",
])
def test_a_profile_url_on_a_non_public_address_is_never_fetched_and_gets_the_same_message(
        app, client, consumer, resource, profile_url):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = False
    response = _register(client, resource, _form(consumer, tc_profile_url=profile_url.format(consumer=consumer.url)))
    assert response.status_code == 400
    assert _continue(response) == {"x": "1", "status": "failure", "lti_errormsg": ONE_MESSAGE}
    assert consumer.received == [] and _consumers() == []
    [row] = db.session.scalars(db.select(LaunchLog)).all()
    assert "is not a public address" in row.cause


def test_private_addresses_are_reached_when_the_site_allows_them(app, client, consumer, resource):
    assert app.config["ALLOW_PRIVATE_ADDRESSES"]  # as the tests run: every peer is on 127.0.0.1
    assert _register(client, resource, _form(consumer)).status_code == 200
