"""Our RSA signing keys: one Current (signs), one Next (published ahead), Previous ones during a grace period."""
from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any, Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import Connection, select, text

from app.extensions import db
from app.models import ToolKey
from app.models.base import conflict_insert, utcnow

NEXT = "next"
CURRENT = "current"
PREVIOUS = "previous"
RETIRED = "retired"
_SIGNING = (CURRENT, NEXT)
_table = ToolKey.__table__


class MissingKeys(RuntimeError):
    """No Current key: the database was set up without `flask --app wsgi db upgrade`."""

    def __init__(self) -> None:
        super().__init__("No tool signing key exists: run `flask --app wsgi db upgrade` (it creates the keys).")


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_row(state: str, private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    kid = secrets.token_hex(16)
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    public_jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": jwk["n"], "e": jwk["e"]}
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    now = utcnow()
    return {"kid": kid, "private_key_pem": pem, "public_jwk": public_jwk, "state": state,
            "activated_at": now if state == CURRENT else None, "created_at": now, "updated_at": now}


def _insert(connection: Connection, state: str, private_key: rsa.RSAPrivateKey) -> None:
    """Insert a key unless one in `state` already exists: the partial unique index on that state settles a race
    between processes, so the loser inserts nothing instead of failing."""
    connection.execute(conflict_insert(_table).on_conflict_do_nothing(
        index_elements=[_table.c.state], index_where=text(f"state = '{state}'")), _key_row(state, private_key))


def _missing(connection: Connection) -> list[str]:
    present = set(connection.execute(select(_table.c.state).where(_table.c.state.in_(_SIGNING))).scalars())
    return [state for state in _SIGNING if state not in present]


def ensure_keys(connection: Connection | None = None, *,
                generate: Callable[[], rsa.RSAPrivateKey] = new_private_key) -> None:
    """Create the Current and Next keys where missing. Run when the database is set up (its migration, `demo
    seed`, the worker's start, key maintenance), never while serving a request; idempotent, and any number of
    processes may run it at once. `connection`: the migration's own; by default the session's (caller commits)."""
    connection = connection if connection is not None else db.session.connection()
    for state in _missing(connection):
        _insert(connection, state, generate())


def _in_state(state: str) -> list[ToolKey]:
    return list(db.session.execute(
        db.select(ToolKey).where(ToolKey.state == state).order_by(ToolKey.id)).scalars())


def current_key() -> ToolKey:
    """The signing key. Never created here: a request or job that signs must not write a key into its own
    transaction (the platform it calls fetches our JWKS from another process)."""
    key = db.session.execute(db.select(ToolKey).where(ToolKey.state == CURRENT)).scalar_one_or_none()
    if key is None:
        raise MissingKeys()
    return key


def published_keys() -> list[ToolKey]:
    """What /lti/jwks serves: Next, Current and Previous keys still inside their grace period."""
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
    _insert(db.session.connection(), NEXT, new_private_key())
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
