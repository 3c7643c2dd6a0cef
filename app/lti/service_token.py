"""OAuth 2 client-credentials tokens for LTI services, cached per (registration, scopes).

The cache lives in the database so every web and job worker shares it.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

import jwt
from cryptography.hazmat.primitives import serialization

from app.extensions import db
from app.lti import keys, outbound
from app.models import AccessToken, PlatformRegistration
from app.models.base import conflict_insert, utcnow
from app.models.transactions import end_reads

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXPIRY_MARGIN = 60
DEFAULT_LIFETIME = 300
_table = AccessToken.__table__


class TokenError(Exception):
    """The platform did not issue a token; `status` and `body` are what it answered (status 0: no answer)."""

    def __init__(self, reason: str, status: int = 0, body: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.body = body


@dataclass
class IssuedToken:
    access_token: str
    expires_in: int | None
    scope: str


def scope_key(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))


_loaded_keys: dict[tuple[str, str], Any] = {}


def _signing_key(kid: str, pem: str) -> Any:
    """Our private key as a key object, parsed once per process: parsing the PEM (with the key checks it
    involves) costs ~40 ms, more than signing."""
    loaded = _loaded_keys.get((kid, pem))
    if loaded is None:
        loaded = serialization.load_pem_private_key(pem.encode(), password=None)
        _loaded_keys[(kid, pem)] = loaded
    return loaded


def client_assertion(registration: PlatformRegistration) -> str:
    """A short-lived JWT signed with our current key that proves who is asking for the token."""
    key = keys.current_key()
    now = int(time.time())
    claims = {
        "iss": registration.client_id,
        "sub": registration.client_id,
        "aud": registration.token_audience or registration.access_token_url,
        "iat": now - 5,
        "exp": now + 60,
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(claims, _signing_key(key.kid, key.private_key_pem), algorithm="RS256", headers={"kid": key.kid})


def request_token(registration: PlatformRegistration, scopes: Iterable[str],
                  timeout: tuple[float, float] = (outbound.CONNECT_TIMEOUT, outbound.READ_TIMEOUT)) -> IssuedToken:
    """Ask the platform for a new token (no cache). Raises TokenError with what the platform said."""
    scope = scope_key(scopes)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(registration),
        "scope": scope,
    }
    end_reads(f"POST {registration.access_token_url}")
    try:
        response = outbound.post(registration.access_token_url, data=form, headers={"Accept": "application/json"},
                                 timeout=timeout)
    except outbound.OutboundError as error:
        raise TokenError(error.reason) from None
    if not response.ok:
        raise TokenError(f"HTTP {response.status_code}", response.status_code, response.text[:500])
    try:
        body: dict[str, Any] = response.json()
        token = body["access_token"]
    except (ValueError, KeyError, TypeError):
        raise TokenError("the token response had no access_token", response.status_code,
                         response.text[:500]) from None
    expires_in = body.get("expires_in")
    return IssuedToken(access_token=token, expires_in=int(expires_in) if expires_in is not None else None,
                       scope=str(body.get("scope", scope)))


def access_token(registration: PlatformRegistration, scopes: Iterable[str], *, refresh: bool = False) -> str:
    """A valid token for these scopes: from the shared cache, or freshly issued and cached.

    `refresh=True` drops the cached one first (a service call answered 401). Workers that miss the cache at the
    same time each get a token; each stores its own in one upsert, so none fails on the other's row (the
    platform honours both until they expire).
    """
    key = scope_key(scopes)
    cached = db.session.execute(db.select(AccessToken.token, AccessToken.expires_at).where(
        AccessToken.registration_id == registration.id, AccessToken.scopes == key)).first()
    now = utcnow()
    if cached is not None and not refresh and cached.expires_at > now:
        return cached.token
    issued = request_token(registration, scopes)
    lifetime = (issued.expires_in - EXPIRY_MARGIN) if issued.expires_in else DEFAULT_LIFETIME
    _remember(registration.id, key, issued.access_token, now + timedelta(seconds=max(lifetime, 0)))
    return issued.access_token


def _remember(registration_id: int, scopes: str, token: str, expires_at: datetime) -> None:
    """Cache the token in its own short transaction, after the platform answered: the caller holds no write
    while calling a platform, and a job that fails later must not roll back a token it paid for."""
    now = utcnow()
    with db.engine.begin() as connection:
        insert = conflict_insert(_table).values(registration_id=registration_id, scopes=scopes, token=token,
                                                expires_at=expires_at, created_at=now, updated_at=now)
        connection.execute(insert.on_conflict_do_update(index_elements=["registration_id", "scopes"], set_={
            name: insert.excluded[name] for name in ("token", "expires_at", "updated_at")}))


def forget_tokens(registration: PlatformRegistration) -> None:
    """Platform details changed: cached tokens may belong to the old client."""
    db.session.execute(db.delete(AccessToken).where(AccessToken.registration_id == registration.id))
