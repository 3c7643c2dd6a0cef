"""Test connection: fetch the platform's keyset, then ask it for a token, and say what
happened in words an admin can act on."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.lti import outbound, service_token
from app.lti.registration import SERVICE_SCOPES
from app.models import PlatformRegistration
from app.models.transactions import end_reads

KEYSET_STEP = "Fetch the platform's public keyset"
TOKEN_STEP = "Request an access token"
TIMEOUT = (10, 10)
EXCERPT = 200


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _keyset_failure(reason: str) -> StepResult:
    return StepResult(KEYSET_STEP, False, f"Failed — {reason}. Check the Public keyset URL.")


def check_keyset(jwks_url: str) -> StepResult:
    end_reads(f"GET {jwks_url}")
    try:
        response = outbound.get(jwks_url, headers={"Accept": "application/json"}, timeout=TIMEOUT)
    except outbound.OutboundError as error:
        return _keyset_failure(error.reason)
    if not response.ok:
        return _keyset_failure(f"HTTP {response.status_code}")
    try:
        keys = response.json().get("keys")
    except (ValueError, AttributeError):
        return _keyset_failure("the response was not a JSON keyset")
    if not isinstance(keys, list) or not keys:
        return _keyset_failure("the keyset has no keys")
    kids = ", ".join(str(key.get("kid", "(no kid)")) if isinstance(key, dict) else "(invalid key)" for key in keys)
    return StepResult(KEYSET_STEP, True, f"OK — {len(keys)} key(s) found: {kids}.")


def check_token(registration: PlatformRegistration) -> StepResult:
    """Client credentials for all four service scopes, signed with our current key (no cache)."""
    try:
        issued = service_token.request_token(registration, SERVICE_SCOPES, timeout=TIMEOUT)
    except service_token.TokenError as error:
        cause = f"HTTP {error.status}: {error.body[:EXCERPT]}" if error.status else error.reason
        return StepResult(TOKEN_STEP, False,
                          f"Failed — {cause}. Check the Client ID, the Access token URL and that the platform "
                          f"has this site's JWKS URL.")
    expires = issued.expires_in if issued.expires_in is not None else "an unstated number of"
    return StepResult(TOKEN_STEP, True,
                      f"OK — the platform issued a token (expires in {expires} seconds; scopes: {issued.scope}).")


def run(registration: PlatformRegistration) -> list[StepResult]:
    """Both steps always run: a bad keyset URL and a bad token URL are separate mistakes."""
    return [check_keyset(registration.jwks_url or ""), check_token(registration)]
