"""The platforms' public keys: a keyset cached in PlatformKeyset for as long as the platform's cache
headers allow (clamped to 60 s – 24 h, 1 h when it says nothing), fetched again at most once per launch when a
token names an unknown `kid`, and at most once per registration every 30 seconds whatever the traffic. Each
process verifies with the keys it has parsed without reading the cached row again until that keyset's cache
lifetime ends or the registration changes; a kid it has not parsed reads the row (another process may have fetched
a rotated keyset).

Cache rows are written in their own short transaction: a launch that is refused later must not roll back the
keyset it fetched, or the next launch would fetch it again.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from flask import current_app
from jwt import PyJWK
from jwt.exceptions import PyJWKError
from sqlalchemy import or_, update

from app.extensions import db
from app.lti import outbound
from app.lti.errors import launch_error
from app.models import PlatformKeyset
from app.models.base import conflict_insert, utcnow
from app.models.queries.keys import KEYSET as _KEYSET, KEYSET_TIMES as _KEYSET_TIMES
from app.models.transactions import end_reads

MIN_TTL = 60
MAX_TTL = 24 * 3600
DEFAULT_TTL = 3600
REFETCH_INTERVAL = timedelta(seconds=30)
FETCH_TIMEOUT = (5.0, 10.0)
RSA_ALGS = frozenset({"RS256", "RS384", "RS512"})
EC_ALG_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
ALLOWED_ALGS = RSA_ALGS | frozenset(EC_ALG_BY_CURVE.values())
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_table = PlatformKeyset.__table__

# Parsed keys per process, keyed by the cached keyset they came from: a keyset row is parsed once per process.
_parsed: dict[tuple[int, datetime], dict[str, Any]] = {}
_parsed_lock = threading.Lock()
# The keyset each registration verified with last in this application, with the registration as it was (its keyset
# URL and when the row last changed: a changed registration drops its cached keyset) and the time the keyset's
# cache lifetime ends: until then a token signed by a key already parsed from it is verified without a statement.
# A kid it lacks (a rotation) reads the cached row again, as does a registration changed since.
_FRESH = "courseport.platform_keys"


def cache_lifetime(headers: Any, now: datetime) -> int:
    """Seconds to keep a keyset: Cache-Control max-age, else Expires, else an hour; never under 60 s or over 24 h."""
    control = headers.get("Cache-Control", "") or ""
    if "no-store" in control.lower() or "no-cache" in control.lower():
        return MIN_TTL
    match = _MAX_AGE.search(control)
    seconds: float = DEFAULT_TTL
    if match:
        seconds = int(match.group(1))
    elif headers.get("Expires"):
        try:
            seconds = (parsedate_to_datetime(headers["Expires"]) - now).total_seconds()
        except (TypeError, ValueError):
            seconds = MIN_TTL  # RFC 9111: an invalid Expires means "already expired"
    return int(min(max(seconds, MIN_TTL), MAX_TTL))


def _fetch(registration: Any) -> dict[str, Any]:
    """Fetch and cache the keyset; returns its in-process entry."""
    url = registration.jwks_url or ""
    end_reads(f"GET {url}")
    try:
        response = outbound.get(url, headers={"Accept": "application/json"}, timeout=FETCH_TIMEOUT)
    except outbound.OutboundError as error:
        raise _fetch_failed(registration, error.reason) from None
    if response.status_code != 200:
        raise _fetch_failed(registration, f"HTTP {response.status_code}")
    try:
        jwks = response.json()
    except ValueError:
        raise _fetch_failed(registration, "the response is not JSON") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise _fetch_failed(registration, "the response has no \"keys\" list")
    now = utcnow()
    expires_at = now + timedelta(seconds=cache_lifetime(response.headers, now))
    with db.engine.begin() as connection:
        insert = conflict_insert(_table).values(
            registration_id=registration.id, jwks=jwks, fetched_at=now, expires_at=expires_at, created_at=now,
            updated_at=now)
        connection.execute(insert.on_conflict_do_update(index_elements=["registration_id"], set_={
            name: insert.excluded[name] for name in ("jwks", "fetched_at", "expires_at", "updated_at")}))
    entry = _remember(registration.id, now, jwks)
    _fresh()[registration.id] = (_as_of(registration), expires_at, entry)
    return entry


def _fetch_failed(registration: Any, reason: str):
    return launch_error("jwks_fetch_failed", jwks_url=registration.jwks_url, reason=reason, name=registration.name,
                        registration=registration)


def _remember(registration_id: int, fetched_at: datetime, jwks: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"jwks": jwks, "keys": {}}
    with _parsed_lock:
        for stale in [key for key in _parsed if key[0] == registration_id]:
            del _parsed[stale]
        _parsed[(registration_id, fetched_at)] = entry
    return entry


def _fresh() -> dict[int, tuple[tuple[Any, Any], datetime, dict[str, Any]]]:
    return current_app.extensions.setdefault(_FRESH, {})


def _as_of(registration: Any) -> tuple[Any, Any]:
    return registration.jwks_url, getattr(registration, "updated_at", None)


def _cached(registration: Any) -> dict[str, Any] | None:
    row = _KEYSET_TIMES.first(id=registration.id)
    if row is None or row.expires_at <= utcnow():
        return None
    entry = _parsed.get((registration.id, row.fetched_at))
    if entry is None:
        entry = _remember(registration.id, row.fetched_at, _KEYSET.scalar(id=registration.id))
    _fresh()[registration.id] = (_as_of(registration), row.expires_at, entry)
    return entry


def _parsed_fresh(registration: Any, kid: str, alg: str) -> PyJWK | None:
    """The key this process already parsed for (kid, alg) from the registration's keyset, while that keyset's
    cache lifetime lasts; None sends the caller to the cached row."""
    fresh = _fresh().get(registration.id)
    if fresh is None or fresh[0] != _as_of(registration) or fresh[1] <= utcnow():
        return None
    return fresh[2]["keys"].get((kid, alg))


def _claim_refetch(registration: Any) -> bool:
    """Only one request per registration per 30 s may fetch again for an unknown kid, across every process."""
    now = utcnow()
    with db.engine.begin() as connection:
        result = connection.execute(update(_table).where(
            _table.c.registration_id == registration.id,
            or_(_table.c.last_refetch_at.is_(None), _table.c.last_refetch_at <= now - REFETCH_INTERVAL),
        ).values(last_refetch_at=now))
    return result.rowcount == 1


def compatible(jwk: dict[str, Any], alg: str) -> bool:
    """Can this JWK verify `alg`? Its own `alg` when it has one, else inferred from kty/crv."""
    if jwk.get("use") not in (None, "sig"):
        return False
    if jwk.get("alg"):
        return jwk["alg"] == alg
    if jwk.get("kty") == "RSA":
        return alg in RSA_ALGS
    if jwk.get("kty") == "EC":
        return EC_ALG_BY_CURVE.get(jwk.get("crv", "")) == alg
    return False


def _select(entry: dict[str, Any], kid: str, alg: str) -> PyJWK | None:
    parsed = entry["keys"]
    if (kid, alg) in parsed:
        return parsed[(kid, alg)]
    for jwk in entry["jwks"]["keys"]:
        if isinstance(jwk, dict) and jwk.get("kid") == kid and compatible(jwk, alg):
            try:
                key = PyJWK(jwk, algorithm=alg)
            except PyJWKError:
                continue
            parsed[(kid, alg)] = key
            return key
    return None


def key_for(registration: Any, kid: str, alg: str) -> PyJWK:
    """The platform's public key for a token's header. Raises LtiError naming the kid or keyset URL."""
    known = _parsed_fresh(registration, kid, alg)
    if known is not None:
        return known
    entry = _cached(registration)
    fetched_now = entry is None
    if entry is None:
        entry = _fetch(registration)
    key = _select(entry, kid, alg)
    detail = ""
    if key is None and not fetched_now:
        if _claim_refetch(registration):
            entry = _fetch(registration)
            key = _select(entry, kid, alg)
            detail = ", even after fetching it again."
        else:
            detail = " (it was fetched again less than 30 seconds ago)."
    if key is None:
        kids = [jwk.get("kid") for jwk in entry["jwks"]["keys"] if isinstance(jwk, dict)]
        if kid in kids and not detail:
            detail = f"; the key with that kid cannot verify {alg}."
        raise launch_error("kid_unknown", kid=kid, jwks_url=registration.jwks_url, name=registration.name,
                           detail=detail or ".", registration=registration)
    return key
