"""Property: no id_token, however its claims are shaped, makes the launch endpoint answer 500.

The platform signs every token here with a key whose keyset is already cached, so each example runs the whole
validation (times, registration, nonce, deployment, message, claims) and, when it passes, the launch itself."""
from __future__ import annotations

import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from app.extensions import db
from app.lti.launch_data import (
    AGS, CONTEXT, CUSTOM, DEPLOYMENT_ID, LAUNCH_PRESENTATION, LTI1P1, MESSAGE_TYPE, NRPS, RESOURCE_LINK, ROLES,
    TARGET_LINK_URI, VERSION, LaunchData,
)
from app.models import PlatformKeyset, PublishedResource
from app.models.base import utcnow
from tests import factories
from tests.properties import json_values

BASE = "http://127.0.0.1:5000"
ISSUER = "https://lms.example.org"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "platform-key"
PUBLIC_JWK = {**RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": KID, "alg": "RS256", "use": "sig"}

# Each claim: absent, a plausible value, or any JSON value at all.
_claim_values = {
    "sub": st.one_of(st.text(max_size=300), st.integers(), json_values),
    DEPLOYMENT_ID: st.one_of(st.just("deployment-1"), st.text(max_size=300), json_values),
    MESSAGE_TYPE: st.one_of(st.just("LtiResourceLinkRequest"), st.just("LtiDeepLinkingRequest"), json_values),
    VERSION: st.one_of(st.just("1.3.0"), json_values),
    ROLES: st.one_of(st.lists(st.text(max_size=80), max_size=4), json_values),
    RESOURCE_LINK: st.one_of(st.fixed_dictionaries({"id": st.text(max_size=300)}), json_values),
    CONTEXT: st.one_of(st.fixed_dictionaries({"id": st.text(max_size=300), "title": json_values}), json_values),
    CUSTOM: st.one_of(st.dictionaries(st.text(max_size=10), json_values, max_size=3), json_values),
    AGS: st.one_of(st.fixed_dictionaries({"lineitems": json_values, "scope": json_values}), json_values),
    NRPS: st.one_of(st.fixed_dictionaries({"context_memberships_url": json_values}), json_values),
    LAUNCH_PRESENTATION: json_values,
    TARGET_LINK_URI: st.one_of(st.just(BASE + "/lti/launch"), json_values),
    LTI1P1: json_values,
    "iat": st.one_of(st.integers(), st.floats(allow_nan=True), json_values),
    "exp": st.one_of(st.integers(), st.floats(allow_nan=True), json_values),
    "nbf": st.one_of(st.integers(), st.floats(), json_values),
    "given_name": json_values, "email": json_values, "azp": json_values, "aud": json_values,
}
claims_strategy = st.fixed_dictionaries({}, optional=_claim_values)


def _world():
    """The registration, its cached keyset and a resource, made by the first example of each test."""
    existing = db.session.query(PublishedResource).first()
    if existing is not None:
        return existing
    registration = factories.make_registration(issuer=ISSUER, client_id="client-1")
    course = factories.make_course("PROP", "Properties")
    resource = factories.make_resource(course)
    now = utcnow()
    db.session.add(PlatformKeyset(registration_id=registration.id, jwks={"keys": [PUBLIC_JWK]}, fetched_at=now,
                                  expires_at=now + timedelta(hours=1)))
    db.session.commit()
    return resource


@settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claims=claims_strategy, use_resource=st.booleans())
def test_no_id_token_gives_a_server_error(app, claims, use_resource):
    resource = _world()
    client = app.test_client()
    login = client.get("/lti/login", query_string={"iss": ISSUER, "login_hint": "h", "client_id": "client-1",
                                                   "target_link_uri": BASE + "/lti/launch"})
    assert login.status_code == 302, login.get_data(as_text=True)
    query = parse_qs(urlsplit(login.headers["Location"]).query)
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "client-1", "nonce": query["nonce"][0], "iat": now, "exp": now + 300,
            "sub": "s-" + secrets.token_hex(4), DEPLOYMENT_ID: "deployment-1", MESSAGE_TYPE: "LtiResourceLinkRequest",
            VERSION: "1.3.0", ROLES: [], RESOURCE_LINK: {"id": "rl-1"}}
    if use_resource:
        body[CUSTOM] = {"id": resource.uuid}
    body.update(claims)
    token = jwt.encode(body, KEY, algorithm="RS256", headers={"kid": KID}, json_encoder=None)
    response = client.post("/lti/launch", data={"id_token": token, "state": query["state"][0]})
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(id_token=st.text(max_size=400), state=st.text(max_size=60))
def test_no_malformed_launch_post_gives_a_server_error(client, id_token, state):
    response = client.post("/lti/launch", data={"id_token": id_token, "state": state})
    assert response.status_code < 500


@settings(max_examples=150, deadline=1000)
@given(claims=claims_strategy, title=st.text(max_size=3000), url=st.text(max_size=3000))
def test_claims_become_launch_data_of_bounded_size(claims, title, url):
    """What the launch keeps of validated claims fits its columns, whatever else the token carried."""
    body = {"iss": ISSUER, "sub": "s", DEPLOYMENT_ID: "d", MESSAGE_TYPE: "LtiResourceLinkRequest", **claims,
            CONTEXT: {"id": "c", "title": title, "label": title}, RESOURCE_LINK: {"id": "r", "title": title},
            AGS: {"lineitems": url, "lineitem": url, "scope": []}, NRPS: {"context_memberships_url": url}}
    body["sub"] = str(body["sub"]) if isinstance(body["sub"], (str, int)) else "s"
    data = LaunchData.from_claims(body, launch_id="l", registration_id=1, deployment_pk=1, client_id="c",
                                  cookie_method="cookie", storage_target=None, clock_skew=0)
    assert len(data.context["title"]) <= 1024 and len(data.context["label"]) <= 255
    assert len(data.resource_link["title"]) <= 1024
    for kept in (data.ags["lineitems"], data.ags["lineitem"], (data.nrps or {}).get("context_memberships_url")):
        assert kept is None or len(kept) <= 2048
    assert LaunchData.from_json(data.to_json()) == data
