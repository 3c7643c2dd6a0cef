"""The LTI 1.1 → 1.3 migration claim: proof that a 1.3 platform is the 1.1 consumer we knew.

The platform signs `oauth_consumer_key & deployment_id & iss & client_id & exp & nonce` with the LTI 1.1 secret.
Platforms disagree on the encoding of the HMAC (base64 of the digest bytes, or base64 of its hex string), so
both are accepted; both comparisons run in constant time.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from app.extensions import db
from app.lti.identity import credential_scope
from app.models import Lti11Consumer, PublishedResource

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/lti1p1"
MSG_MISSING_SIGN = "Missing 'oauth_consumer_key_sign' property in lti1p1 migration claim."
MSG_INVALID_SIGN = "Invalid 'oauth_consumer_key_sign' signature in lti1p1 claim."


class MigrationClaimError(Exception):
    """The claim names a consumer key but does not prove it (status 401)."""

    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MigrationClaim:
    consumer_key: str
    user_id: str | None
    scope: str  # the identity scope of the key and the secret that signed the claim


def base_string(consumer_key: str, deployment_id: str, issuer: str, client_id: str, exp: Any, nonce: str) -> str:
    """`client_id` is the registration's client ID, never a raw `aud` array."""
    return "&".join([consumer_key, deployment_id, issuer, client_id, str(exp), nonce])


def signatures(secret: str, base: str) -> tuple[str, str]:
    """Both encodings in use: base64 of the HMAC-SHA256 bytes, and base64 of its hex digest."""
    mac = hmac.new(secret.encode(), base.encode(), hashlib.sha256)
    return (base64.b64encode(mac.digest()).decode(), base64.b64encode(mac.hexdigest().encode()).decode())


def sign_matches(sign: str, secret: str, base: str) -> bool:
    matched = False
    for expected in signatures(secret, base):
        # No early exit: both encodings are always compared.
        matched = hmac.compare_digest(sign.encode(), expected.encode()) | matched
    return matched


def candidate_secrets(consumer_key: str) -> list[str]:
    """Every secret this key may use: an LTI 2 consumer's own, else its resource's."""
    rows: Iterable[tuple[str | None, str | None]] = db.session.execute(
        db.select(Lti11Consumer.secret, PublishedResource.secret)
        .join(PublishedResource, PublishedResource.id == Lti11Consumer.published_resource_id)
        .where(Lti11Consumer.consumer_key == consumer_key)).all()
    secrets = [own or resource_secret for own, resource_secret in rows]
    return list(dict.fromkeys(secret for secret in secrets if secret))


def verify_claim(claims: Mapping[str, Any], client_id: str) -> MigrationClaim | None:
    """Check the lti1p1 claim of validated id_token claims.

    None when there is nothing to migrate (no claim, or no consumer key in it); raises MigrationClaimError
    when a consumer key is named without a valid signature.
    """
    claim = claims.get(CLAIM)
    if not isinstance(claim, Mapping) or not claim.get("oauth_consumer_key"):
        return None
    consumer_key = str(claim["oauth_consumer_key"])
    sign = claim.get("oauth_consumer_key_sign")
    if not sign or not isinstance(sign, str):
        raise MigrationClaimError(MSG_MISSING_SIGN)
    base = base_string(consumer_key, str(claims.get("https://purl.imsglobal.org/spec/lti/claim/deployment_id", "")),
                       str(claims.get("iss", "")), client_id, claims.get("exp", ""), str(claims.get("nonce", "")))
    matching = [secret for secret in candidate_secrets(consumer_key) if sign_matches(sign, secret, base)]
    if not matching:
        raise MigrationClaimError(MSG_INVALID_SIGN)
    user_id = claim.get("user_id")
    return MigrationClaim(consumer_key=consumer_key, user_id=str(user_id) if user_id else None,
                          scope=credential_scope(consumer_key, matching[0]))
