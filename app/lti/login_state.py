"""The OIDC login's state as a signed, short-lived value, so that a login writes nothing.

Everything the launch needs from its login travels through the platform inside `state`: the nonce, the
registration and endpoint the login was for, and how the browser is bound (which cookie path; for platform
storage, the frame and origin to ask and the login to repeat in a new window). itsdangerous signs it with the
application's secret key under a salt of its own, so no other signed value of the application passes for one, and
refuses it ten minutes after it was issued. Nothing secret is inside: the state is seen by the platform and sits in
the browser's history.

The signature makes a state unforgeable, not single-use: the launch makes it single-use by inserting its nonce under
a unique key (`used_nonce_key`), which only one request can do.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app
from itsdangerous import BadData, Signer, URLSafeTimedSerializer

STATE_LIFETIME = 600
# How long a used nonce is kept: past its state's expiry on every server, with clocks minutes apart.
USED_NONCE_LIFETIME = STATE_LIFETIME + 300
# pylti1p3 puts this before the value it asks `_get_uuid` for (app/lti/login.py).
PREFIX = "state-"
_STATE_SALT = "courseport.lti.login-state"
_STORAGE_SECRET_SALT = "courseport.lti.storage-secret"
_DIGEST = hashlib.sha256


def _nonce() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class LoginState:
    """What a login hands to its launch. `target` is the endpoint kind (`launch` or `deeplink`) the login sent
    the platform back to; the storage fields are set only when the login kept its secret in platform storage."""

    registration_id: int
    client_id: str
    target: str
    cookie_method: str
    storage_target: str | None = None
    storage_origin: str | None = None
    relaunch_url: str | None = None
    nonce: str = field(default_factory=_nonce)

    def _payload(self) -> list[object]:
        values: list[object] = [self.nonce, self.registration_id, self.client_id, self.target, self.cookie_method]
        if self.storage_target:
            values += [self.storage_target, self.storage_origin, self.relaunch_url]
        return values

    @classmethod
    def _from_payload(cls, values: object) -> "LoginState | None":
        if not isinstance(values, list) or len(values) not in (5, 8):
            return None
        nonce, registration_id, client_id, target, cookie_method, *storage = values
        if not (isinstance(nonce, str) and isinstance(registration_id, int) and isinstance(client_id, str)):
            return None
        return cls(registration_id, client_id, str(target), str(cookie_method), *storage, nonce=nonce)


@lru_cache(maxsize=4)
def _serializer(key: str | bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_STATE_SALT, signer_kwargs={"digest_method": _DIGEST})


@lru_cache(maxsize=4)
def _secret_signer(key: str | bytes) -> Signer:
    return Signer(key, salt=_STORAGE_SECRET_SALT, digest_method=_DIGEST)


def issue(login: LoginState) -> str:
    """The signed value (without pylti1p3's prefix)."""
    return _serializer(current_app.secret_key).dumps(login._payload())


def read(state: str) -> LoginState | None:
    """The login behind a `state`; None when it is not one this application issued, was altered or has expired."""
    if not state.startswith(PREFIX):
        return None
    try:
        values = _serializer(current_app.secret_key).loads(state[len(PREFIX):], max_age=STATE_LIFETIME)
    except BadData:
        return None
    return LoginState._from_payload(values)


def storage_secret(nonce: str) -> str:
    """The value a platform-storage login keeps with the platform and its launch must post back. It is derived from
    the nonce with the secret key, so it need not travel in the state (whoever sees the state cannot make it)."""
    return _secret_signer(current_app.secret_key).get_signature(nonce).decode()


def used_nonce_key(nonce: str) -> str:
    """The storage key whose insertion uses a login up."""
    return f"nonce:{nonce}"
