"""Our RSA signing keys: one Current (signs), one Next (published ahead), Previous ones during a grace period."""
from __future__ import annotations

import json
import secrets
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from app.extensions import db
from app.models import ToolKey
from app.models.base import utcnow

NEXT = "next"
CURRENT = "current"
PREVIOUS = "previous"
RETIRED = "retired"


def _new_key(state: str) -> ToolKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = secrets.token_hex(16)
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    public_jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": jwk["n"], "e": jwk["e"]}
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    key = ToolKey(kid=kid, private_key_pem=pem, public_jwk=public_jwk, state=state,
                  activated_at=utcnow() if state == CURRENT else None)
    db.session.add(key)
    db.session.flush()
    return key


def _in_state(state: str) -> list[ToolKey]:
    return list(db.session.execute(
        db.select(ToolKey).where(ToolKey.state == state).order_by(ToolKey.id)).scalars())


def ensure_keys() -> ToolKey:
    """Create the Current and Next keys on first use; return the Current one."""
    current = _in_state(CURRENT)
    if not current:
        current = [_new_key(CURRENT)]
    if not _in_state(NEXT):
        _new_key(NEXT)
    return current[0]


def current_key() -> ToolKey:
    key = db.session.execute(db.select(ToolKey).where(ToolKey.state == CURRENT)).scalar_one_or_none()
    return key if key is not None else ensure_keys()


def published_keys() -> list[ToolKey]:
    """What /lti/jwks serves: Next, Current and Previous keys still inside their grace period."""
    ensure_keys()
    now = utcnow()
    keys = db.session.execute(
        db.select(ToolKey).where(ToolKey.state.in_([NEXT, CURRENT, PREVIOUS])).order_by(ToolKey.id)).scalars()
    return [key for key in keys if key.state != PREVIOUS or (key.retire_after and key.retire_after > now)]


def jwks() -> dict:
    return {"keys": [dict(key.public_jwk) for key in published_keys()]}


def rotate(grace_days: int) -> ToolKey:
    """Next becomes Current (platforms have already seen it); Current stays published for `grace_days`."""
    ensure_keys()
    now = utcnow()
    old = _in_state(CURRENT)[0]
    new = _in_state(NEXT)[0]
    old.state = PREVIOUS
    old.retire_after = now + timedelta(days=grace_days)
    db.session.flush()  # the partial unique index allows one Current at a time
    new.state = CURRENT
    new.activated_at = now
    db.session.flush()
    _new_key(NEXT)
    return new


def retire_expired() -> int:
    """Retire Previous keys past their grace period; returns how many were retired."""
    now = utcnow()
    retired = 0
    for key in _in_state(PREVIOUS):
        if key.retire_after is None or key.retire_after <= now:
            key.state = RETIRED
            retired += 1
    db.session.flush()
    return retired
