"""Property: whatever a platform's OpenID configuration holds, dynamic registration reads it or refuses it with
its own error (never a crash), and what it keeps is usable."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.lti.registration import PLATFORM_CONFIGURATION, RegistrationError, ToolRegistration
from tests.properties import json_values

ISSUER = "https://lms.example.org"
urls = st.sampled_from([ISSUER + "/token", ISSUER + "/jwks", "http://10.0.0.1/jwks", "not a url", None])
documents = st.fixed_dictionaries({
    "issuer": st.just(ISSUER), "authorization_endpoint": urls, "token_endpoint": urls, "jwks_uri": urls,
    "registration_endpoint": urls,
}, optional={
    "id_token_signing_alg_values_supported": st.one_of(st.just(["RS256"]), json_values),
    "scopes_supported": json_values, "authorization_server": json_values,
    PLATFORM_CONFIGURATION: st.one_of(json_values, st.fixed_dictionaries({"messages_supported": st.one_of(
        st.lists(st.one_of(json_values, st.fixed_dictionaries({"type": json_values})), max_size=3), json_values)})),
})


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(documents, json_values), private_allowed=st.booleans())
def test_openid_configurations(app, document, private_allowed):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = private_allowed
    registration = ToolRegistration("login-id", ISSUER + "/.well-known/openid-configuration", None)
    try:
        configuration = registration.read_configuration(document)
    except RegistrationError:
        return
    assert configuration.jwks_uri.startswith(("http://", "https://"))
    assert all(isinstance(scope, str) for scope in configuration.scopes)


def test_a_configuration_naming_private_addresses_is_refused(app):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = False
    registration = ToolRegistration("login-id", ISSUER + "/.well-known/openid-configuration", None)
    document = {"issuer": ISSUER, "authorization_endpoint": ISSUER + "/auth", "token_endpoint": ISSUER + "/token",
                "jwks_uri": "http://169.254.169.254/latest", "registration_endpoint": ISSUER + "/register"}
    try:
        registration.read_configuration(document)
    except RegistrationError as error:
        assert "jwks_uri that is not a public address" in error.message
    else:
        raise AssertionError("a link-local jwks_uri was accepted")
