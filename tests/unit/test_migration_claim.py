"""The lti1p1 migration claim verifier: both sign encodings, constant-time, any secret."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from app.extensions import db
from app.lti.identity import credential_scope
from app.lti.legacy import migration_claim as migration
from app.models import Lti11Consumer
from tests import factories

ISS = "https://lms.example.org"
CLIENT_ID = "client-9"


def _claims(sign: str | None, key: str = "legacy-key", user_id: str | None = "u-11") -> dict:
    claim = {"oauth_consumer_key": key}
    if sign is not None:
        claim["oauth_consumer_key_sign"] = sign
    if user_id:
        claim["user_id"] = user_id
    return {"iss": ISS, "aud": [CLIENT_ID, "other"], "exp": 1900000000, "nonce": "n-1", "sub": "sub-13",
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-1", migration.CLAIM: claim}


def _independent_sign(secret: str, hex_variant: bool) -> str:
    base = f"legacy-key&dep-1&{ISS}&{CLIENT_ID}&1900000000&n-1"
    mac = hmac.new(secret.encode(), base.encode(), hashlib.sha256)
    return base64.b64encode(mac.hexdigest().encode() if hex_variant else mac.digest()).decode()


@pytest.fixture
def resource(app):
    resource = factories.make_resource(factories.make_course(), legacy=True)
    resource.secret = "resourcesecret"
    db.session.add(Lti11Consumer(published_resource_id=resource.id, consumer_key="legacy-key"))
    db.session.commit()
    return resource


@pytest.mark.parametrize("hex_variant", [False, True])
def test_both_encodings_of_the_resource_secret_verify(resource, hex_variant):
    result = migration.verify_claim(_claims(_independent_sign("resourcesecret", hex_variant)), CLIENT_ID)
    assert result == migration.MigrationClaim(consumer_key="legacy-key", user_id="u-11",
                                              scope=credential_scope("legacy-key", "resourcesecret"))


def test_an_lti2_consumer_signs_with_its_own_secret(resource):
    other = factories.make_resource(resource.course, legacy=True)
    db.session.add(Lti11Consumer(published_resource_id=other.id, consumer_key="legacy-key", secret="proxysecret",
                                 lti_version="LTI-2p0"))
    db.session.commit()
    assert migration.verify_claim(_claims(_independent_sign("proxysecret", False)), CLIENT_ID) is not None
    assert migration.verify_claim(_claims(_independent_sign("resourcesecret", True)), CLIENT_ID) is not None


def test_the_claim_proves_only_the_credential_that_signed_it(resource):
    """Another resource using the same key with a secret of its own: a claim it signs speaks for its own LTI 1.1
    users, never for those who came through `resource`'s secret."""
    other = factories.make_resource(resource.course, legacy=True, secret="AttackerChosenSecret123")
    db.session.add(Lti11Consumer(published_resource_id=other.id, consumer_key="legacy-key"))
    db.session.commit()
    forged = migration.verify_claim(_claims(_independent_sign("AttackerChosenSecret123", False)), CLIENT_ID)
    genuine = migration.verify_claim(_claims(_independent_sign("resourcesecret", False)), CLIENT_ID)
    assert forged.scope == credential_scope("legacy-key", "AttackerChosenSecret123")
    assert genuine.scope == credential_scope("legacy-key", "resourcesecret") != forged.scope


def test_the_registrations_client_id_is_signed_not_the_aud_array(resource):
    with pytest.raises(migration.MigrationClaimError):
        migration.verify_claim(_claims(_independent_sign("resourcesecret", False)), "other")


@pytest.mark.parametrize("sign, message", [
    (None, "Missing 'oauth_consumer_key_sign' property in lti1p1 migration claim."),
    ("", "Missing 'oauth_consumer_key_sign' property in lti1p1 migration claim."),
    ("bm90IGEgc2lnbg==", "Invalid 'oauth_consumer_key_sign' signature in lti1p1 claim."),
])
def test_missing_or_wrong_signs_are_refused(resource, sign, message):
    with pytest.raises(migration.MigrationClaimError) as error:
        migration.verify_claim(_claims(sign), CLIENT_ID)
    assert (error.value.status, error.value.message) == (401, message)


def test_a_key_no_consumer_ever_used_cannot_verify(resource):
    claims = _claims(_independent_sign("resourcesecret", False), key="unknown-key")
    with pytest.raises(migration.MigrationClaimError):
        migration.verify_claim(claims, CLIENT_ID)


def test_claims_without_a_consumer_key_are_ignored(resource):
    assert migration.verify_claim({"iss": ISS}, CLIENT_ID) is None
    claims = _claims("whatever")
    claims[migration.CLAIM] = {"user_id": "u-11"}
    assert migration.verify_claim(claims, CLIENT_ID) is None
