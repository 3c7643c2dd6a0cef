"""`validate_launch` as the deep-linking endpoint will use it: a real login and platform
token for the Deep linking URL, validated with message type LtiDeepLinkingRequest."""
from __future__ import annotations

import pytest

from app.lti.errors import LtiError
from app.lti.launch import validate_launch
from app.lti.launch_data import DEEP_LINKING_REQUEST, DEEP_LINKING_SETTINGS
from tests.e2e.launch_world import World, world  # noqa: F401  (fixture)
from tests.e2e.lti_launcher import INSTRUCTOR, REMOVE

SETTINGS = {"deep_link_return_url": "https://lms.example/return", "accept_types": ["ltiResourceLink", "link"],
            "accept_presentation_document_targets": ["iframe", "window"], "data": "opaque"}


def _validate(world: World, settings):
    browser = world.browser()
    hint = world.link(sub="teacher-dl", roles=INSTRUCTOR, resource_uuid=None, message_type=DEEP_LINKING_REQUEST,
                      claims={DEEP_LINKING_SETTINGS: settings, "https://purl.imsglobal.org/spec/lti/claim/"
                              "resource_link": REMOVE})
    started = browser.start(world.platform, hint, target_link_uri=f"{world.url}/lti/deeplink")
    assert started.form["action"] == f"{world.url}/lti/deeplink"  # the platform posts back to the Deep linking URL
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.session.cookies)
    form = {key: value for key, value in started.form.items() if key != "action"}
    with world.live.app.test_request_context("/lti/deeplink", method="POST", data=form,
                                             headers={"Cookie": cookies}):
        return validate_launch(leeway=60, message_type=DEEP_LINKING_REQUEST)


def test_a_deep_linking_request_validates_for_the_deep_linking_url(world):
    launch = _validate(world, SETTINGS)
    assert launch.is_deep_link and launch.deep_linking_settings == SETTINGS and launch.resource_link is None
    assert launch.subject == "teacher-dl" and launch.registration_id == world.registration_id


@pytest.mark.parametrize("settings, message", [
    (REMOVE, "Missing Deep Linking Settings"),
    ({**SETTINGS, "deep_link_return_url": ""}, "Missing Deep Linking Return URL"),
    ({**SETTINGS, "accept_types": ["link"]}, "Must support resource link placement types"),
    ({**SETTINGS, "accept_presentation_document_targets": []}, "Must support a presentation type"),
], ids=["no settings", "no return URL", "no ltiResourceLink", "no presentation target"])
def test_incomplete_deep_linking_settings_are_refused(world, settings, message):
    with pytest.raises(LtiError) as refused:
        _validate(world, settings)
    assert (refused.value.status, refused.value.message) == (400, message)
    assert refused.value.check_code == "deep_linking_settings"
