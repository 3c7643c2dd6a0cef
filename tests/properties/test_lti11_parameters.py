"""Property: no LTI 1.1 launch form, signed or not, makes the launch endpoint answer 500."""
from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.models import PublishedResource
from tests import factories
from tests.e2e.legacy_consumer import launch_params, sign_launch

BASE = "http://127.0.0.1:5000"
FORM = "application/x-www-form-urlencoded"
NAMES = ["oauth_consumer_key", "oauth_signature_method", "oauth_timestamp", "oauth_nonce", "oauth_version",
         "oauth_signature", "oauth_callback", "oauth_body_hash", "lti_message_type", "lti_version",
         "resource_link_id", "user_id", "roles", "lis_outcome_service_url", "lis_result_sourcedid",
         "launch_presentation_return_url", "lis_person_contact_email_primary", "lis_person_name_given",
         "context_id", "custom_force_embed", "ext_ims_lis_memberships_url", "ext_ims_lis_memberships_id",
         "custom_context_memberships_url", "launch_presentation_document_target"]
values = st.one_of(st.text(max_size=60), st.sampled_from(["", "0", "1" * 30, "HMAC-SHA1", "1.0",
                                                           "basic-lti-launch-request", "LTI-1p0", "LTI-2p0",
                                                           "Instructor", "javascript:alert(1)", "http://[::1"]))
forms = st.dictionaries(st.sampled_from(NAMES), values, max_size=12)
SLOW_SETUP = settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _resource() -> PublishedResource:
    from app.extensions import db

    return db.session.query(PublishedResource).first() or factories.make_resource(
        factories.make_course("BIO", "Biology"), legacy=True)


@SLOW_SETUP
@given(form=forms)
def test_no_unsigned_form_gives_a_server_error(app, form):
    resource = _resource()
    response = app.test_client().post(f"/lti/v1/launch/{resource.id}", data=urlencode(form), content_type=FORM)
    assert response.status_code < 500


@SLOW_SETUP
@given(form=forms)
def test_no_signed_form_gives_a_server_error(app, form):
    resource = _resource()
    params = {**launch_params(), **{name: value for name, value in form.items() if not name.startswith("oauth_")}}
    try:
        body = sign_launch(f"{BASE}/lti/v1/launch/{resource.id}", "lms-key", resource.secret, params)
    except ValueError:
        assume(False)  # oauthlib refuses to sign it: no consumer could send it either
    response = app.test_client().post(f"/lti/v1/launch/{resource.id}", data=body, content_type=FORM)
    assert response.status_code < 500, response.get_data(as_text=True)[:1000]
