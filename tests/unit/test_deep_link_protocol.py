"""The deep-linking protocol rules of #5 that do not need a request: reading the platform's settings,
the presentation target, line items and the response claims."""
from decimal import Decimal

import pytest
from pylti1p3.registration import Registration

from app.lti.deep_linking import (
    CONTENT_ITEMS, DATA, MSG, ContentItem, DeepLinkResponse, DeepLinkSettings, resource_link,
)
from app.lti.errors import LtiError
from app.lti.launch_data import LaunchData

RETURN_URL = "https://lms.example.org/deep_link/return?x=1"
LAUNCH_URL = "https://tools.example.org/lti/launch"


def _launch(**settings) -> LaunchData:
    claim = {"deep_link_return_url": RETURN_URL, "accept_types": ["ltiResourceLink"],
             "accept_presentation_document_targets": ["iframe", "window"], **settings}
    return LaunchData(launch_id="l1", registration_id=1, deployment_pk=1, issuer="https://lms.example.org",
                      client_id="client-1", deployment_id="dep-1", message_type="LtiDeepLinkingRequest",
                      subject="u1", roles=[], cookie_method="cookie", clock_skew=0,
                      deep_linking_settings={key: value for key, value in claim.items() if value is not None})


@pytest.mark.parametrize("targets, expected", [
    (["window", "iframe", "embed"], "iframe"),
    (["embed", "window"], "window"),
    (["embed"], "embed"),
])
def test_document_target_prefers_iframe_then_window_then_the_first(targets, expected):
    settings = DeepLinkSettings.from_launch(_launch(accept_presentation_document_targets=targets))
    assert settings.document_target == expected


@pytest.mark.parametrize("value, expected", [
    (None, True), (True, True), (False, False), ("false", False), ("False", False), ("true", True), ("no", True),
])
def test_accept_flags_default_to_true_and_read_boolean_strings(value, expected):
    settings = DeepLinkSettings.from_launch(_launch(accept_multiple=value, accept_lineitem=value))
    assert (settings.accept_multiple, settings.accept_lineitem) == (expected, expected)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative/return", "ftp://lms.example.org/x",
                                 "https://user@lms.example.org/x", "https://lms.example.org;script-src *",
                                 "https://lms example.org/x", "https:///x"])
def test_a_return_url_that_is_not_a_plain_http_url_is_refused(url):
    with pytest.raises(LtiError) as refused:
        DeepLinkSettings.from_launch(_launch(deep_link_return_url=url))
    assert refused.value.message == "Missing Deep Linking Return URL"


def test_return_origin_and_data_presence():
    settings = DeepLinkSettings.from_launch(_launch())
    assert settings.return_origin == "https://lms.example.org"
    local = DeepLinkSettings.from_launch(_launch(deep_link_return_url="http://127.0.0.1:8080/return"))
    assert local.return_origin == "http://127.0.0.1:8080"
    assert not settings.has_data
    with_null = _launch()
    with_null.deep_linking_settings["data"] = None
    assert DeepLinkSettings.from_launch(with_null).has_data  # present, even as null: echoed verbatim


def test_line_item_only_when_asked_for_and_accepted():
    item = ContentItem(uuid="u-1", title="Quiz", text="x" * 1200, score_maximum=Decimal("7.50"))
    accepted = resource_link(item, DeepLinkSettings.from_launch(_launch()), LAUNCH_URL).to_dict()
    assert accepted["lineItem"] == {"scoreMaximum": 7.5, "label": "Quiz", "resourceId": "u-1", "tag": "grade"}
    assert len(accepted["text"]) == 1000
    refused = resource_link(item, DeepLinkSettings.from_launch(_launch(accept_lineitem=False)), LAUNCH_URL)
    assert "lineItem" not in refused.to_dict()
    whole = ContentItem(uuid="u-2", title="Course", text="", score_maximum=Decimal("100.00"))
    assert resource_link(whole, DeepLinkSettings.from_launch(_launch()), LAUNCH_URL).to_dict()["lineItem"][
        "scoreMaximum"] == 100
    ungraded = ContentItem(uuid="u-3", title="Page", text="")
    assert resource_link(ungraded, DeepLinkSettings.from_launch(_launch()), LAUNCH_URL).to_dict() == {
        "type": "ltiResourceLink", "title": "Page", "text": "", "url": LAUNCH_URL, "custom": {"id": "u-3"},
        "presentation": {"documentTarget": "iframe"}}


def test_message_has_msg_only_with_items_and_data_only_when_sent():
    launch = _launch(data={"k": "v"})
    settings = DeepLinkSettings.from_launch(launch)
    response = DeepLinkResponse(Registration(), launch, settings)
    empty = response.get_message_jwt([])
    assert empty[CONTENT_ITEMS] == [] and MSG not in empty and empty[DATA] == {"k": "v"}
    two = response.get_message_jwt([resource_link(ContentItem("a", "A", ""), settings, LAUNCH_URL),
                                    resource_link(ContentItem("b", "B", ""), settings, LAUNCH_URL)])
    assert two[MSG] == "2 item(s) added."
    plain = _launch()
    assert DATA not in DeepLinkResponse(Registration(), plain, DeepLinkSettings.from_launch(plain)).get_message_jwt([])
    assert empty["nonce"] != response.get_message_jwt([])["nonce"]  # fresh for every response
