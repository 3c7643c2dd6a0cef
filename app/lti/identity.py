"""Identity scopes: which credential an LMS identity belongs to.

A subject is only meaningful to the party that proved it. An LTI 1.3 subject belongs to the platform behind the
registration whose keys signed the launch (registrations an admin declared one platform share it); an LTI 1.1
user_id belongs to the consumer key together with the secret that signed the launch, so whoever holds one
resource's secret can never speak for users who came through another secret.
"""
from __future__ import annotations

import hashlib

LTI13_PREFIX = "lti13:"
LTI11_PREFIX = "lti11:"


def platform_scope(platform_key: str) -> str:
    return LTI13_PREFIX + platform_key


def credential_scope(consumer_key: str, secret: str) -> str:
    """A fingerprint of (consumer key, secret): the secret itself is never stored with the identity."""
    digest = hashlib.sha256(consumer_key.encode() + b"\0" + secret.encode()).hexdigest()
    return LTI11_PREFIX + digest[:64]
